"""What CI needs to run an AWS stack: the inputs of ``.github/actions/stack-credentials`` (OIDC to a role)."""

INPUTS: tuple[str, ...] = ("aws-role-arn", "aws-region", "eks-cluster-name")

"""How a Pulumi Kubernetes Operator workspace runs an AWS stack: the deployer role, by IRSA or Pod Identity."""

from __future__ import annotations

from infra.backends.aws.settings import AwsSettings
from infra.backends.base import Workspace


# The platform sets up beside the manifests: IRSA: the role trusts the operator cluster's OIDC provider for
# exactly the workspace's service account (sts.amazonaws.com audience); Pod Identity: associate the role with
# that service account instead.
def workspace(settings: AwsSettings) -> Workspace:
    role = settings.deployer_role_arn
    return Workspace(
        identity_key="awsDeployerRoleArn",
        identity=role,
        annotations={"eks.amazonaws.com/role-arn": role} if role else {},
        env={"AWS_REGION": settings.region or ""},
    )

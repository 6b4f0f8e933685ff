"""What CI needs to run a Vault stack: the inputs of ``.github/actions/stack-credentials`` (JWT login to Vault)."""

INPUTS: tuple[str, ...] = ("vault-addr", "vault-jwt-role")

"""How a Pulumi Kubernetes Operator workspace runs a Vault stack: a Vault Agent sidecar's short-lived token."""

from __future__ import annotations

from infra.backends.base import Workspace
from infra.backends.vault.settings import VaultSettings


# The platform sets up beside the manifests: a Vault Agent sidecar in the workspace (auto-auth with a Kubernetes
# auth role bound to the workspace's service account, sink ~/.vault-token) gives the provider a short-lived
# token.
def workspace(settings: VaultSettings) -> Workspace:
    # The Vault provider reads VAULT_TOKEN or ~/.vault-token: a Vault Agent
    # sidecar keeps a short-lived token there, so no token is ever stored.
    return Workspace(
        identity_key="",
        identity=None,
        env={"VAULT_ADDR": settings.address or ""},
    )

"""Vault/OpenBao KV v2 backend: mount, policy, Kubernetes auth, audit, and the store's provider block."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from components.eso import NAMESPACE as ESO_NAMESPACE
from components.eso import SERVICE_ACCOUNT as ESO_SERVICE_ACCOUNT
from components.vault_backend import VaultBackend, VaultBackendArgs
from infra import catalog
from infra.config import StackConfig, VaultAuditType, VaultTokenReviewer


class Backend:
    """Vault/OpenBao KV v2: mount, policy, Kubernetes auth, audit, and the store's provider block."""

    store_name = "vault"
    layout = catalog.Layout.GROUPED

    def __init__(self, cfg: StackConfig, k8s_provider: k8s.Provider):
        assert cfg.vault is not None
        v = cfg.vault
        # Kubernetes auth needs no annotation: ESO presents a projected token.
        self.service_account_annotations: dict = {}
        # No token argument: the provider reads VAULT_TOKEN from the environment,
        # so no credential is ever in config, state inputs or git.
        provider = vault.Provider("vault", address=v.address, skip_child_token=False)
        self.backend = VaultBackend(
            "vault",
            VaultBackendArgs(
                environment=cfg.environment,
                kv_mount=v.kv_mount,
                auth_mount=v.auth_mount,
                secret_paths=[catalog.grouped_path(cfg.environment, g) for g in catalog.groups()],
                kubernetes_host=v.kubernetes_host,
                kubernetes_ca_cert=v.kubernetes_ca_cert,
                kubernetes_issuer=v.kubernetes_issuer,
                token_ttl_seconds=v.token_ttl_seconds,
                audience=v.audience,
                namespace=ESO_NAMESPACE,
                service_account=ESO_SERVICE_ACCOUNT,
                bind_auth_delegator=v.token_reviewer is VaultTokenReviewer.ESO,
                kubernetes_api_audience=v.kubernetes_api_audience,
                audit_type=v.audit_type.value,
                audit_target=v.audit_target if v.audit_type is not VaultAuditType.NONE else "",
                server=v.address,
                ca_bundle=v.ca_bundle,
            ),
            opts=pulumi.ResourceOptions(providers={"vault": provider, "kubernetes": k8s_provider}),
        )
        self.grants = self.backend.grants
        self.store_provider = self.backend.store_provider

    def export(self) -> None:
        pulumi.export("vaultMountPath", self.backend.mount_path)
        pulumi.export("vaultPolicyName", self.backend.policy_name)
        pulumi.export("vaultRoleName", self.backend.role_name)

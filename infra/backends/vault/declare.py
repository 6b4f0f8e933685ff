"""Vault/OpenBao KV v2: mount, policy, Kubernetes auth, audit, and the store's provider block."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from infra import catalog
from infra.backends.base import Declared, RemoteRef
from infra.backends.vault.settings import VaultSettings
from infra.backends.vault.vault_backend import VaultBackend, VaultBackendArgs, role_name, token_audiences
from infra.components.eso import ESO_SERVICE_ACCOUNT


def store_provider(environment: str, settings: VaultSettings) -> dict[str, Any]:
    """The ClusterSecretStore ``spec.provider`` block."""
    block: dict[str, Any] = {
        "server": settings.address,
        "path": settings.kv_mount,
        "version": "v2",
        "auth": {
            "kubernetes": {
                "mountPath": settings.auth_mount,
                "role": role_name(environment),
                "serviceAccountRef": ESO_SERVICE_ACCOUNT.ref(
                    audiences=token_audiences(settings.audience, settings.token_reviewer, settings.kubernetes_api_audience)
                ),
            }
        },
    }
    if settings.ca_bundle:
        block["caBundle"] = settings.ca_bundle
    return {"vault": block}


def declare(
    environment: str, settings: VaultSettings, secrets: catalog.Catalog, k8s_provider: k8s.Provider
) -> Declared:
    # No token argument: the provider reads VAULT_TOKEN from the environment,
    # so no credential is ever in config, state inputs or git.
    # skip_tls_verify pinned: the SDK would take VAULT_SKIP_VERIFY from the environment.
    provider = vault.Provider("vault", address=settings.address, skip_child_token=False, skip_tls_verify=False)
    access = VaultBackend(
        "vault",
        VaultBackendArgs(
            environment=environment,
            settings=settings,
            secret_paths=[catalog.grouped_path(environment, g) for g in secrets.by_group],
            eso=ESO_SERVICE_ACCOUNT,
            max_age_days=max(e.rotation.max_age_days for e in secrets),
        ),
        opts=pulumi.ResourceOptions(providers={"vault": provider, "kubernetes": k8s_provider}),
    )
    return Declared(
        store_name=settings.store_name,
        store_provider=store_provider(environment, settings),
        remote_ref=lambda e: RemoteRef(catalog.grouped_path(environment, e.group), e.key),
        # Kubernetes auth needs no annotation: ESO presents a projected token.
        grants=tuple(access.grants),
        egress_ports=(settings.port,),
        outputs={
            "vaultMountPath": access.mount_path,
            "vaultPolicyName": access.policy_name,
            "vaultRoleName": access.role_name,
        },
    )

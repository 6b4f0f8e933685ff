"""Vault/OpenBao KV v2: mount, policy, Kubernetes auth, audit, and the store's provider block.

Turns ``VaultSettings`` and the catalog into the arguments of ``components/vault``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from components.eso import ESO_SERVICE_ACCOUNT
from components.service_account import ServiceAccount
from components.vault.backend import KV_MAX_VERSIONS, VaultBackend, VaultBackendArgs, VaultClusterAuth, token_audiences
from infra.backends.base import Declared, RemoteRef
from infra.backends.vault.settings import VaultSettings, VaultTokenReviewer
from infra.catalog import App, Catalog
from infra.clusters import Cluster
from infra.fields import PROJECT


def role_name(app: App, environment: str) -> str:
    """The Kubernetes auth role ESO logs in with, and the policy it carries."""
    return app.resource_name(environment)


def store_provider(app: App, environment: str, settings: VaultSettings, eso: ServiceAccount = ESO_SERVICE_ACCOUNT) -> dict[str, Any]:
    """The ClusterSecretStore ``spec.provider`` block."""
    reviewed = settings.token_reviewer is VaultTokenReviewer.ESO
    block: dict[str, Any] = {
        "server": settings.address,
        "path": settings.kv_mount,
        "version": "v2",
        "auth": {
            "kubernetes": {
                "mountPath": settings.auth_mount,
                "role": role_name(app, environment),
                "serviceAccountRef": eso.ref(audiences=token_audiences(settings.audience, reviewed, settings.kubernetes_api_audience)),
            }
        },
    }
    if settings.ca_bundle:
        block["caBundle"] = settings.ca_bundle
    return {"vault": block}


def declare(
    environment: str,
    settings: VaultSettings,
    secrets: Catalog,
    k8s_provider: k8s.Provider,
    eso: ServiceAccount,
    clusters: Sequence[Cluster] = (),
    k8s_providers: Mapping[str, k8s.Provider] | None = None,
) -> Declared:
    app = secrets.app
    others = list(clusters[1:])
    # No token argument: the provider reads VAULT_TOKEN from the environment,
    # so no credential is ever in config, state inputs or git.
    # skip_tls_verify pinned: the SDK would take VAULT_SKIP_VERIFY from the environment.
    provider = vault.Provider("vault", address=settings.address, skip_child_token=False, skip_tls_verify=False)
    audit = settings.audit
    access = VaultBackend(
        "vault",
        VaultBackendArgs(
            policy_name=role_name(app, environment),
            subject=app.subject(environment),
            kv_mount=settings.kv_mount,
            adopt_kv_mount=settings.adopt_kv_mount,
            kv_mount_description=f"KV v2: {app.title} secrets (values written by operators, never by Pulumi)",
            auth_mount=settings.auth_mount,
            kubernetes_host=settings.kubernetes_host,
            kubernetes_ca_cert=settings.kubernetes_ca_cert,
            kubernetes_issuer=settings.kubernetes_issuer,
            reviewed_with_eso_token=settings.token_reviewer is VaultTokenReviewer.ESO,
            secret_paths=[app.grouped_path(environment, g) for g in secrets.by_group],
            eso=eso,
            audience=settings.audience,
            token_ttl_seconds=settings.token_ttl_seconds,
            token_bound_cidrs=settings.token_bound_cidrs,
            audit_type=audit.type.value if audit else None,
            audit_target=audit.target if audit else None,
            # One device per environment, even when environments share a server.
            audit_path=app.resource_name(environment, audit.type.value) if audit else None,
            policy_source=f"the {PROJECT} catalog",
            # History is bounded by count only: KV v2's delete_version_after also expires the
            # *current* version of a value nobody rewrote in time, and ESO then stops syncing it.
            kv_max_versions=KV_MAX_VERSIONS,
            kv_delete_version_after_seconds=0,
            labels=app.labels,
            # Every other cluster: its own auth mount on this server (declared here, the primary
            # address; a performance replica serves it too), reviewing that cluster's tokens.
            more_clusters=[
                VaultClusterAuth(
                    name=c.name,
                    auth_mount=c.backend.auth_mount,
                    kubernetes_host=c.backend.kubernetes_host,
                    eso=c.common.eso_account,
                    kubernetes_ca_cert=c.backend.kubernetes_ca_cert,
                    kubernetes_issuer=c.backend.kubernetes_issuer,
                    reviewed_with_eso_token=c.backend.token_reviewer is VaultTokenReviewer.ESO,
                    k8s_provider=(k8s_providers or {}).get(c.name),
                )
                for c in others
            ],
        ),
        opts=pulumi.ResourceOptions(providers={"vault": provider, "kubernetes": k8s_provider}),
    )
    return Declared(
        clusters={
            c.name: Declared(
                store_name=settings.store_name,
                # The cluster's own Vault address and auth mount.
                store_provider=store_provider(app, environment, c.backend, c.common.eso_account),
                remote_ref=lambda e: RemoteRef(app.grouped_path(environment, e.group), e.key),
                grants=tuple(access.grants),
                egress_ports=(c.backend.port,),
            )
            for c in others
        },
        store_name=settings.store_name,
        store_provider=store_provider(app, environment, settings, eso),
        remote_ref=lambda e: RemoteRef(app.grouped_path(environment, e.group), e.key),
        # Kubernetes auth needs no annotation: ESO presents a projected token.
        grants=tuple(access.grants),
        egress_ports=(settings.port,),
        outputs={
            "vaultMountPath": access.mount_path,
            "vaultPolicyName": access.policy_name,
            "vaultRoleName": access.role_name,
        },
    )

"""Vault (or OpenBao) as the secret backend of one environment.

Owns: the KV v2 mount (protected: its data is the secrets; with
``vaultAdoptKvMount`` someone else owns it and it is not declared), the read-only
policy ``aragora-<env>``, the Kubernetes auth method with its config and the
role ESO logs in with, the ``system:auth-delegator`` binding Vault's
TokenReview needs when it reviews ESO's own JWT, and optionally an audit device
``aragora-<env>-<type>``. The auth method and the audit device serve the whole
server, so this stack never disables them: removed from the stack, they stay
(``retain_on_delete``).
Does not own: the values (operators write them with ``vault kv put``), the
Vault server, the token Pulumi uses (``VAULT_TOKEN`` in the environment), nor
the store's provider block (``declare.store_provider``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from infra.backends.vault.settings import VaultAuditType, VaultSettings, VaultTokenReviewer
from infra.components.eso import ServiceAccount


def policy_hcl(environment: str, mount: str, paths: Sequence[str]) -> str:
    """``read`` on exactly the KV v2 data paths of one environment.

    KV v2 serves values under ``<mount>/data/``; no ``metadata/`` grant because
    the ExternalSecrets use neither ``dataFrom.find`` nor ``metadataPolicy: Fetch``.
    """
    lines = [
        f"# ESO reads Aragora {environment} secrets: read only, exact paths, nothing else.",
        "# Generated from the aragora-secrets catalog; do not edit.",
    ]
    for path in paths:
        lines += ["", f'path "{mount}/data/{path}" {{', '  capabilities = ["read"]', "}"]
    return "\n".join(lines) + "\n"


KV_MAX_VERSIONS = 10


def role_name(environment: str) -> str:
    """The Kubernetes auth role ESO logs in with, and the policy it carries."""
    return f"aragora-{environment}"


def token_audiences(audience: str, token_reviewer: VaultTokenReviewer, kubernetes_api_audience: str) -> list[str]:
    """Audiences of the token ESO logs in with: the role's, plus the API server's
    when that same token is Vault's TokenReview credential."""
    if token_reviewer is VaultTokenReviewer.ESO:
        return [audience, kubernetes_api_audience]
    return [audience]


@dataclass(frozen=True)
class VaultBackendArgs:
    environment: str
    settings: VaultSettings
    """Mounts, the Kubernetes auth config, token TTL and audience, reviewer mode, audit device."""
    secret_paths: Sequence[str]
    """KV paths inside the mount (``aragora/<env>/<group>``) ESO may read."""
    eso: ServiceAccount
    """The only service account the role accepts."""
    max_age_days: int = 90
    """The longest maximum age of the catalog's values (rotation policy)."""


class VaultBackend(pulumi.ComponentResource):
    """KV v2 mount, least-privilege policy, Kubernetes auth role and audit for one environment."""

    mount_path: pulumi.Output[str]
    policy_name: pulumi.Output[str]
    role_name: pulumi.Output[str]
    policy_document: str
    grants: list[pulumi.Resource]
    """What must exist before ESO can log in: a store created earlier fails validation."""

    def __init__(self, name: str, args: VaultBackendArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:vault:VaultBackend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = args.settings

        mount_deps: list[pulumi.Resource] = []
        if cfg.adopt_kv_mount:
            # Someone else's mount: point at it, never declare (and so never delete) it.
            self.mount_path = pulumi.Output.from_input(cfg.kv_mount)
        else:
            mount = vault.Mount(
                f"{name}-kv",
                path=cfg.kv_mount,
                type="kv",
                options={"version": "2"},
                description="KV v2: Aragora secrets (values written by operators, never by Pulumi)",
                # Unmounting a KV engine destroys every secret in it.
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            mount_deps.append(mount)
            self.mount_path = mount.path
            # Rotation needs history and care: keep enough versions to roll back a
            # bad rotation, drop versions older than twice the longest maximum age,
            # and refuse blind overwrites (writes name the version they replace).
            vault.kv.SecretBackendV2(
                f"{name}-kv-settings",
                mount=mount.path,
                max_versions=KV_MAX_VERSIONS,
                cas_required=True,
                delete_version_after=2 * args.max_age_days * 86400,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.policy_document = policy_hcl(args.environment, cfg.kv_mount, args.secret_paths)
        policy = vault.Policy(
            f"{name}-policy",
            name=role_name(args.environment),
            policy=self.policy_document,
            opts=pulumi.ResourceOptions(parent=self, depends_on=mount_deps),
        )

        auth = vault.AuthBackend(
            f"{name}-k8s-auth",
            type="kubernetes",
            path=cfg.auth_mount,
            description=f"Kubernetes auth for the Aragora {args.environment} cluster",
            # Often shared or imported (other teams' roles live on it): a stack
            # change or destroy forgets it, never disables it on the server.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        auth_config = vault.kubernetes.AuthBackendConfig(
            f"{name}-k8s-auth-config",
            backend=auth.path,
            kubernetes_host=cfg.kubernetes_host,
            kubernetes_ca_cert=cfg.kubernetes_ca_cert,
            issuer=cfg.kubernetes_issuer,
            # With ESO's JWT as the reviewer, Vault runs outside the cluster: never
            # fall back to a local pod's CA and token (there is none to trust).
            disable_local_ca_jwt=cfg.token_reviewer is VaultTokenReviewer.ESO,
            opts=child,
        )
        role = vault.kubernetes.AuthBackendRole(
            f"{name}-k8s-role",
            backend=auth.path,
            role_name=role_name(args.environment),
            bound_service_account_names=[args.eso.name],
            bound_service_account_namespaces=[args.eso.namespace],
            audience=cfg.audience,
            token_policies=[policy.name],
            token_ttl=cfg.token_ttl_seconds,
            token_max_ttl=cfg.token_ttl_seconds,
            # Network isolation: the token only works from the cluster's addresses.
            token_bound_cidrs=list(cfg.token_bound_cidrs) or None,
            opts=child,
        )

        self.grants = [policy, auth_config, role]
        if cfg.token_reviewer is VaultTokenReviewer.ESO:
            delegator = k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-auth-delegator",
                metadata={
                    "name": f"{args.eso.name}-vault-auth-delegator",
                    "labels": {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "aragora"},
                },
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
                subjects=[{"kind": "ServiceAccount", "name": args.eso.name, "namespace": args.eso.namespace}],
                opts=child,
            )
            self.grants.append(delegator)

        if cfg.audit is not None:
            option = "file_path" if cfg.audit.type is VaultAuditType.FILE else "address"
            vault.Audit(
                f"{name}-audit",
                type=cfg.audit.type.value,
                # One device per environment, even when environments share a server.
                path=f"aragora-{args.environment}-{cfg.audit.type.value}",
                description=f"Audit log of every request, including ESO's reads (Aragora {args.environment})",
                options={option: cfg.audit.target},
                # Disabling a device silently ends the audit trail for the whole
                # server: a stack change or destroy forgets it, never disables it.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )

        self.policy_name = policy.name
        self.role_name = role.role_name
        self.register_outputs(
            {"mount_path": self.mount_path, "policy_name": self.policy_name, "role_name": self.role_name}
        )

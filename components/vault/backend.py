"""Vault (or OpenBao) as the secret backend of one environment.

Owns: the KV v2 mount (protected: its data is the secrets; with
``adopt_kv_mount`` someone else owns it and it is not declared), the read-only
policy (``policy_name``), the Kubernetes auth method with its config and the
role ESO logs in with, the ``system:auth-delegator`` binding Vault's
TokenReview needs when it reviews ESO's own JWT, and optionally an audit device
(``audit_path``). The auth method and the audit device serve the whole
server, so this stack never disables them: removed from the stack, they stay
(``retain_on_delete``).
Does not own: the values (operators write them with ``vault kv put``), the
Vault server, the token Pulumi uses (``VAULT_TOKEN`` in the environment), nor
the store's provider block (the program's backend declaration).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from components.service_account import ServiceAccount

AUDIT_OPTION = {"file": "file_path", "socket": "address"}
"""The option naming where each supported audit device type writes."""


def policy_hcl(subject: str, source: str, mount: str, paths: Sequence[str]) -> str:
    """``read`` on exactly the KV v2 data paths of one environment.

    KV v2 serves values under ``<mount>/data/``; no ``metadata/`` grant because
    the ExternalSecrets use neither ``dataFrom.find`` nor ``metadataPolicy: Fetch``.
    """
    lines = [
        f"# ESO reads {subject} secrets: read only, exact paths, nothing else.",
        f"# Generated from {source}; do not edit.",
    ]
    for path in paths:
        lines += ["", f'path "{mount}/data/{path}" {{', '  capabilities = ["read"]', "}"]
    return "\n".join(lines) + "\n"


KV_MAX_VERSIONS = 10


def token_audiences(audience: str, reviewed_with_eso_token: bool, kubernetes_api_audience: str) -> list[str]:
    """Audiences of the token ESO logs in with: the role's, plus the API server's
    when that same token is Vault's TokenReview credential."""
    if reviewed_with_eso_token:
        return [audience, kubernetes_api_audience]
    return [audience]


@dataclass(frozen=True)
class VaultClusterAuth:
    """Another cluster of the environment: its own auth mount, API server, CA and ESO service account."""

    name: str
    """Short name, suffixes its resources."""
    auth_mount: str
    kubernetes_host: str
    eso: ServiceAccount
    kubernetes_ca_cert: str | None = None
    kubernetes_issuer: str | None = None
    reviewed_with_eso_token: bool = False
    k8s_provider: pulumi.ProviderResource | None = None
    """That cluster's Kubernetes provider (for the auth-delegator binding there)."""


@dataclass(frozen=True)
class VaultBackendArgs:
    policy_name: str
    """The read-only policy, and the Kubernetes auth role that carries it (e.g. ``aragora-staging``)."""
    subject: str
    """Whose secrets these are, for descriptions and the policy's header, e.g. ``Aragora staging``."""
    kv_mount: str
    auth_mount: str
    kubernetes_host: str
    """The API server Vault sends TokenReviews to."""
    secret_paths: Sequence[str]
    """KV paths inside the mount (``aragora/<env>/<group>``) ESO may read."""
    eso: ServiceAccount
    """The only service account the role accepts."""
    audience: str
    """The audience the role requires of ESO's token."""
    token_ttl_seconds: int
    adopt_kv_mount: bool = False
    """The KV mount is someone else's: point at it, never declare (and so never delete) it."""
    kubernetes_ca_cert: str | None = None
    kubernetes_issuer: str | None = None
    reviewed_with_eso_token: bool = False
    """Vault reviews ESO's own JWT (Vault outside the cluster): ESO gets ``system:auth-delegator``
    and Vault never falls back to a local pod's CA and token."""
    token_bound_cidrs: Sequence[str] = ()
    """Where ESO's Vault token may be used from; empty: anywhere."""
    audit_type: str | None = None
    """``file`` or ``socket`` (``AUDIT_OPTION``); None: no audit device."""
    audit_target: str | None = None
    audit_path: str | None = None
    """The device's path on the server, one per environment even on a shared server."""
    kv_mount_description: str = "KV v2 (values written by operators, never by Pulumi)"
    policy_source: str = "the secret catalog"
    """Named in the policy's header: where the paths come from."""
    kv_max_versions: int = KV_MAX_VERSIONS
    kv_delete_version_after_seconds: int = 0
    """0: versions are kept (bounded by ``kv_max_versions``)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """On the Kubernetes objects (the auth-delegator binding)."""
    more_clusters: Sequence[VaultClusterAuth] = ()
    """The environment's other clusters: one Kubernetes auth mount each, reviewing that cluster's tokens."""

    def __post_init__(self) -> None:
        if self.audit_type is not None and (self.audit_type not in AUDIT_OPTION or not self.audit_target or not self.audit_path):
            raise ValueError(f"VaultBackendArgs: an audit device needs a type ({', '.join(AUDIT_OPTION)}), a target and a path")


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

        mount_deps: list[pulumi.Resource] = []
        if args.adopt_kv_mount:
            # Someone else's mount: point at it, never declare (and so never delete) it.
            self.mount_path = pulumi.Output.from_input(args.kv_mount)
        else:
            mount = vault.Mount(
                f"{name}-kv",
                path=args.kv_mount,
                type="kv",
                options={"version": "2"},
                description=args.kv_mount_description,
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
                max_versions=args.kv_max_versions,
                cas_required=True,
                delete_version_after=args.kv_delete_version_after_seconds,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.policy_document = policy_hcl(args.subject, args.policy_source, args.kv_mount, args.secret_paths)
        policy = vault.Policy(
            f"{name}-policy",
            name=args.policy_name,
            policy=self.policy_document,
            opts=pulumi.ResourceOptions(parent=self, depends_on=mount_deps),
        )

        home = VaultClusterAuth(
            name="",
            auth_mount=args.auth_mount,
            kubernetes_host=args.kubernetes_host,
            eso=args.eso,
            kubernetes_ca_cert=args.kubernetes_ca_cert,
            kubernetes_issuer=args.kubernetes_issuer,
            reviewed_with_eso_token=args.reviewed_with_eso_token,
        )
        self.grants = [policy]
        for cluster in (home, *args.more_clusters):
            role = self._kubernetes_auth(name, cluster, args, policy)
            if cluster is home:
                self.role_name = role.role_name

        if args.audit_type is not None:
            vault.Audit(
                f"{name}-audit",
                type=args.audit_type,
                path=args.audit_path,
                description=f"Audit log of every request, including ESO's reads ({args.subject})",
                options={AUDIT_OPTION[args.audit_type]: args.audit_target},
                # Disabling a device silently ends the audit trail for the whole
                # server: a stack change or destroy forgets it, never disables it.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )

        self.policy_name = policy.name
        self.register_outputs(
            {"mount_path": self.mount_path, "policy_name": self.policy_name, "role_name": self.role_name}
        )

    def _kubernetes_auth(
        self, name: str, cluster: VaultClusterAuth, args: VaultBackendArgs, policy: vault.Policy
    ) -> vault.kubernetes.AuthBackendRole:
        """One cluster's Kubernetes auth mount, its config (reviewing that cluster) and ESO's role on it."""
        suffix = f"-{cluster.name}" if cluster.name else ""
        child = pulumi.ResourceOptions(parent=self)
        auth = vault.AuthBackend(
            f"{name}-k8s-auth{suffix}",
            type="kubernetes",
            path=cluster.auth_mount,
            description=f"Kubernetes auth for the {args.subject} cluster{f' {cluster.name}' if cluster.name else ''}",
            # Often shared or imported (other teams' roles live on it): a stack
            # change or destroy forgets it, never disables it on the server.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        auth_config = vault.kubernetes.AuthBackendConfig(
            f"{name}-k8s-auth-config{suffix}",
            backend=auth.path,
            kubernetes_host=cluster.kubernetes_host,
            kubernetes_ca_cert=cluster.kubernetes_ca_cert,
            issuer=cluster.kubernetes_issuer,
            # With ESO's JWT as the reviewer, Vault runs outside the cluster: never
            # fall back to a local pod's CA and token (there is none to trust).
            disable_local_ca_jwt=cluster.reviewed_with_eso_token,
            opts=child,
        )
        role = vault.kubernetes.AuthBackendRole(
            f"{name}-k8s-role{suffix}",
            backend=auth.path,
            role_name=args.policy_name,
            bound_service_account_names=[cluster.eso.name],
            bound_service_account_namespaces=[cluster.eso.namespace],
            audience=args.audience,
            token_policies=[policy.name],
            token_ttl=args.token_ttl_seconds,
            token_max_ttl=args.token_ttl_seconds,
            # Network isolation: the token only works from the cluster's addresses.
            token_bound_cidrs=list(args.token_bound_cidrs) or None,
            opts=child,
        )
        self.grants += [auth_config, role]
        if cluster.reviewed_with_eso_token:
            delegator = k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-auth-delegator{suffix}",
                metadata={
                    "name": f"{cluster.eso.name}-vault-auth-delegator",
                    "labels": dict(args.labels),
                },
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
                subjects=[{"kind": "ServiceAccount", "name": cluster.eso.name, "namespace": cluster.eso.namespace}],
                # In the cluster whose tokens this mount reviews.
                opts=pulumi.ResourceOptions(parent=self, provider=cluster.k8s_provider) if cluster.k8s_provider else child,
            )
            self.grants.append(delegator)
        return role

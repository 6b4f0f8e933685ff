"""Vault (or OpenBao) as the secret backend of one environment.

Owns: the KV v2 mount (protected: its data is the secrets), the read-only
policy ``aragora-<env>``, the Kubernetes auth method with its config and the
role ESO logs in with, the ``system:auth-delegator`` binding Vault's
TokenReview needs when it reviews ESO's own JWT, and optionally an audit device.
Does not own: the values (operators write them with ``vault kv put``), the
Vault server, nor the token Pulumi uses (``VAULT_TOKEN`` in the environment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault


def policy_hcl(environment: str, mount: str, paths: Sequence[str]) -> str:
    """``read`` on exactly the KV v2 data paths of one environment.

    KV v2 serves values under ``<mount>/data/``; no ``metadata/`` grant because
    the ExternalSecrets use neither ``dataFrom.find`` nor ``metadataPolicy: Fetch``.
    """
    lines = [
        f"# ESO reads Aragora {environment} secrets: read only, exact paths, nothing else.",
        "# Generated from infra/catalog.py by components/vault_backend.py; do not edit.",
    ]
    for path in paths:
        lines += ["", f'path "{mount}/data/{path}" {{', '  capabilities = ["read"]', "}"]
    return "\n".join(lines) + "\n"


def token_audiences(args: VaultBackendArgs) -> list[str]:
    """Audiences of the token ESO logs in with: the role's, plus the API server's
    when that same token is Vault's TokenReview credential."""
    if args.bind_auth_delegator and args.kubernetes_api_audience:
        return [args.audience, args.kubernetes_api_audience]
    return [args.audience]


@dataclass(frozen=True)
class VaultBackendArgs:
    environment: str
    kv_mount: str
    auth_mount: str
    secret_paths: Sequence[str]
    """KV paths inside the mount (``aragora/<env>/<group>``) ESO may read."""
    kubernetes_host: str
    kubernetes_ca_cert: str
    kubernetes_issuer: str
    token_ttl_seconds: int
    audience: str
    namespace: str
    service_account: str
    bind_auth_delegator: bool
    """ESO's JWT doubles as the TokenReview credential: it needs system:auth-delegator."""
    kubernetes_api_audience: str
    """Used with ``bind_auth_delegator``: the API server rejects a reviewer token
    whose audiences lack its own, so ESO's token carries both."""
    audit_type: str
    """``file``, ``socket`` or ``none``."""
    audit_target: str
    server: str
    ca_bundle: str


class VaultBackend(pulumi.ComponentResource):
    """KV v2 mount, least-privilege policy, Kubernetes auth role and audit for one environment."""

    mount_path: pulumi.Output[str]
    policy_name: pulumi.Output[str]
    role_name: pulumi.Output[str]
    policy_document: str
    store_provider: pulumi.Output[dict]
    grants: list[pulumi.Resource]
    """What must exist before ESO can log in: a store created earlier fails validation."""

    def __init__(self, name: str, args: VaultBackendArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:vault:VaultBackend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        mount = vault.Mount(
            f"{name}-kv",
            path=args.kv_mount,
            type="kv",
            options={"version": "2"},
            description="KV v2: Aragora secrets (values written by operators, never by Pulumi)",
            # Unmounting a KV engine destroys every secret in it.
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )

        self.policy_document = policy_hcl(args.environment, args.kv_mount, args.secret_paths)
        policy = vault.Policy(
            f"{name}-policy",
            name=f"aragora-{args.environment}",
            policy=self.policy_document,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[mount]),
        )

        auth = vault.AuthBackend(
            f"{name}-k8s-auth",
            type="kubernetes",
            path=args.auth_mount,
            description=f"Kubernetes auth for the Aragora {args.environment} cluster",
            opts=child,
        )
        auth_config = vault.kubernetes.AuthBackendConfig(
            f"{name}-k8s-auth-config",
            backend=auth.path,
            kubernetes_host=args.kubernetes_host,
            kubernetes_ca_cert=args.kubernetes_ca_cert or None,
            issuer=args.kubernetes_issuer or None,
            opts=child,
        )
        role = vault.kubernetes.AuthBackendRole(
            f"{name}-k8s-role",
            backend=auth.path,
            role_name=f"aragora-{args.environment}",
            bound_service_account_names=[args.service_account],
            bound_service_account_namespaces=[args.namespace],
            audience=args.audience,
            token_policies=[policy.name],
            token_ttl=args.token_ttl_seconds,
            token_max_ttl=args.token_ttl_seconds,
            opts=child,
        )

        self.grants = [policy, auth_config, role]
        if args.bind_auth_delegator:
            delegator = k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-auth-delegator",
                metadata={
                    "name": f"{args.service_account}-vault-auth-delegator",
                    "labels": {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "aragora"},
                },
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
                subjects=[{"kind": "ServiceAccount", "name": args.service_account, "namespace": args.namespace}],
                opts=child,
            )
            self.grants.append(delegator)

        if args.audit_type != "none":
            option = "file_path" if args.audit_type == "file" else "address"
            vault.Audit(
                f"{name}-audit",
                type=args.audit_type,
                path=f"aragora-{args.audit_type}",
                description="Audit log of every request, including ESO's reads",
                options={option: args.audit_target},
                # Removing the device silently ends the audit trail.
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )

        vault_provider: dict = {
            "server": args.server,
            "path": args.kv_mount,
            "version": "v2",
            "auth": {
                "kubernetes": {
                    "mountPath": args.auth_mount,
                    "role": f"aragora-{args.environment}",
                    "serviceAccountRef": {
                        "name": args.service_account,
                        "namespace": args.namespace,
                        "audiences": token_audiences(args),
                    },
                }
            },
        }
        if args.ca_bundle:
            vault_provider["caBundle"] = args.ca_bundle
        self.store_provider = pulumi.Output.from_input({"vault": vault_provider})

        self.mount_path = mount.path
        self.policy_name = policy.name
        self.role_name = role.role_name
        self.register_outputs(
            {"mount_path": self.mount_path, "policy_name": self.policy_name, "role_name": self.role_name}
        )

"""Composes the components into one environment's stack.

``build(cfg)`` is the whole program once config is parsed: the Kubernetes
provider pinned to this environment's context, the backend, ESO, the store and
the ExternalSecrets. ``infra/__main__.py`` only loads config and calls it.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from components.aws_eso_identity import AwsEsoIdentity, AwsEsoIdentityArgs
from components.aws_secrets_manager import AwsSecretsManager, AwsSecretsManagerArgs
from components.cluster_secret_store import ClusterSecretStore, ClusterSecretStoreArgs
from components.eso import NAMESPACE as ESO_NAMESPACE
from components.eso import SERVICE_ACCOUNT as ESO_SERVICE_ACCOUNT
from components.eso import ExternalSecretsOperator, ExternalSecretsOperatorArgs
from components.external_secrets import AppExternalSecrets, AppExternalSecretsArgs, ExternalSecretSpec, SecretValueRef
from components.gcp_eso_identity import GcpEsoIdentity, GcpEsoIdentityArgs
from components.gcp_secret_manager import GcpSecretManager, GcpSecretManagerArgs
from components.vault_backend import VaultBackend, VaultBackendArgs
from infra import catalog
from infra.config import AwsIdentity, Backend, GcpIdentity, StackConfig, VaultAuditType, VaultTokenReviewer

JWT_ROTATION_ANNOTATION = "aragora.io/jwt-rotation"


def tags(cfg: StackConfig) -> dict[str, str]:
    return {"app": "aragora", "environment": cfg.environment, "managed-by": "pulumi", "pulumi-project": "aragora-secrets"}


def external_secret_specs(cfg: StackConfig, layout: catalog.Layout) -> list[ExternalSecretSpec]:
    """One ExternalSecret per sync class, its values straight from the catalog."""
    specs = []
    for sync, entries in catalog.by_sync_class().items():
        refs = [SecretValueRef(e.env_var, *catalog.remote_ref(e, cfg.environment, layout)) for e in entries]
        specs.append(
            ExternalSecretSpec(
                name=catalog.target_secret_name(sync),
                values=refs,
                # Session keys sync only when the ExternalSecret changes, i.e. when
                # an operator bumps `jwtRotation`; never on a timer.
                refresh_policy="OnChange" if sync is catalog.SyncClass.SESSION else "Periodic",
                await_ready=sync is not catalog.SyncClass.OPTIONAL,
                annotations={JWT_ROTATION_ANNOTATION: cfg.jwt_rotation} if sync is catalog.SyncClass.SESSION else {},
            )
        )
    return specs


class _AwsBackend:
    """AWS Secrets Manager: containers, identity, and the store's provider block."""

    store_name = "aws-secrets-manager"
    layout = catalog.Layout.GROUPED

    def __init__(self, cfg: StackConfig, k8s_provider: k8s.Provider):
        assert cfg.aws is not None
        a = cfg.aws
        # allowed_account_ids makes the provider refuse credentials of any other
        # account: a staging run can never touch production.
        provider = aws.Provider(
            "aws",
            region=a.region,
            allowed_account_ids=[a.account_id],
            default_tags={"tags": tags(cfg)},
        )
        opts = pulumi.ResourceOptions(providers={"aws": provider})
        prefix = catalog.env_prefix(cfg.environment)
        descriptions = {
            group: "Aragora " + cfg.environment + ": " + ", ".join(e.env_var for e in catalog.CATALOG if e.group == group)
            for group in catalog.groups()
        }
        self.secrets = AwsSecretsManager(
            "aws-secrets",
            AwsSecretsManagerArgs(
                environment=cfg.environment,
                name_prefix=prefix,
                secrets=descriptions,
                recovery_window_days=a.recovery_window_days,
                tags=tags(cfg),
            ),
            opts=opts,
        )
        irsa = a.identity is AwsIdentity.IRSA
        self.identity = AwsEsoIdentity(
            "aws-eso-identity",
            AwsEsoIdentityArgs(
                environment=cfg.environment,
                partition=a.partition,
                region=a.region,
                account_id=a.account_id,
                name_prefix=prefix,
                kms_key_arn=self.secrets.kms_key_arn,
                namespace=ESO_NAMESPACE,
                service_account=ESO_SERVICE_ACCOUNT,
                oidc_provider_arn=a.oidc_provider_arn if irsa else "",
                oidc_issuer=a.oidc_issuer if irsa else "",
                eks_cluster_name="" if irsa else a.cluster_name,
                tags=tags(cfg),
            ),
            opts=opts,
        )
        self.service_account_annotations = self.identity.irsa_annotations
        self.store_provider = self.identity.store_provider

    def export(self) -> None:
        pulumi.export("awsRoleArn", self.identity.role_arn)
        pulumi.export("awsKmsKeyArn", self.secrets.kms_key_arn)
        pulumi.export("awsSecretArns", self.secrets.secret_arns)


class _VaultBackend:
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
                audit_type=v.audit_type.value,
                audit_target=v.audit_target if v.audit_type is not VaultAuditType.NONE else "",
                server=v.address,
                ca_bundle=v.ca_bundle,
            ),
            opts=pulumi.ResourceOptions(providers={"vault": provider, "kubernetes": k8s_provider}),
        )
        self.store_provider = self.backend.store_provider

    def export(self) -> None:
        pulumi.export("vaultMountPath", self.backend.mount_path)
        pulumi.export("vaultPolicyName", self.backend.policy_name)
        pulumi.export("vaultRoleName", self.backend.role_name)


class _GcpBackend:
    """GCP Secret Manager: one secret per value, per-secret access, Workload Identity."""

    store_name = "gcp-secret-manager"
    layout = catalog.Layout.PER_VALUE

    def __init__(self, cfg: StackConfig, k8s_provider: k8s.Provider):
        assert cfg.gcp is not None
        g = cfg.gcp
        provider = gcp.Provider("gcp", project=g.project)
        opts = pulumi.ResourceOptions(providers={"gcp": provider})
        labels = {"app": "aragora", "env": cfg.environment, "managed-by": "pulumi"}
        self.secrets = GcpSecretManager(
            "gcp-secrets",
            GcpSecretManagerArgs(
                project=g.project,
                secret_ids={e.slug: catalog.gcp_secret_id(cfg.environment, e) for e in catalog.CATALOG},
                labels=labels,
                replica_locations=g.replica_locations,
                kms_key_name=g.kms_key_name,
                audit_logs=g.audit_logs,
            ),
            opts=opts,
        )
        store_auth = {
            k: v
            for k, v in (
                ("clusterLocation", g.cluster_location),
                ("clusterName", g.cluster_name),
                ("clusterProjectID", g.cluster_project),
            )
            if v
        }
        self.identity = GcpEsoIdentity(
            "gcp-eso-identity",
            GcpEsoIdentityArgs(
                environment=cfg.environment,
                project=g.project,
                secret_ids=self.secrets.secret_ids,
                namespace=ESO_NAMESPACE,
                service_account=ESO_SERVICE_ACCOUNT,
                pool_project=g.cluster_project or g.project,
                direct=g.identity is GcpIdentity.DIRECT,
                pool_project_number=g.project_number,
                store_auth=store_auth,
            ),
            opts=opts,
        )
        self.service_account_annotations = self.identity.service_account_annotations
        self.store_provider = self.identity.store_provider

    def export(self) -> None:
        if self.identity.gsa_email is not None:
            pulumi.export("gcpServiceAccountEmail", self.identity.gsa_email)
        pulumi.export("gcpSecretIds", self.secrets.secret_ids)


def build(cfg: StackConfig) -> None:
    catalog.validate_catalog()
    # An explicit context, never whatever is current on the operator's machine:
    # the staging stack cannot apply into the production cluster by accident.
    k8s_provider = k8s.Provider(
        "k8s",
        context=cfg.kube_context,
        kubeconfig=cfg.kubeconfig or None,
    )
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": k8s_provider})

    backends = {Backend.AWS: _AwsBackend, Backend.VAULT: _VaultBackend, Backend.GCP: _GcpBackend}
    backend = backends[cfg.backend](cfg, k8s_provider)

    eso = ExternalSecretsOperator(
        "eso",
        ExternalSecretsOperatorArgs(
            chart_version=cfg.eso.chart_version,
            replicas=cfg.eso.replicas,
            service_account_annotations=backend.service_account_annotations,
        ),
        opts=k8s_opts,
    )

    pulumi.export("environment", cfg.environment)
    pulumi.export("backend", cfg.backend.value)
    pulumi.export("esoNamespace", eso.namespace)
    backend.export()
    if cfg.bootstrap:
        # First `up` on an empty cluster: the CRDs arrive with the release, so the
        # custom resources come in the next `up` (see README, "First deploy").
        pulumi.log.info("bootstrap: ClusterSecretStore and ExternalSecrets are not declared in this run")
        return

    store = ClusterSecretStore(
        "store",
        ClusterSecretStoreArgs(store_name=backend.store_name, provider=backend.store_provider, depends_on=[eso.release]),
        opts=k8s_opts,
    )
    app = AppExternalSecrets(
        "app-secrets",
        AppExternalSecretsArgs(
            namespace=catalog.APP_NAMESPACE,
            store_name=store.store_name,
            refresh_interval=cfg.refresh_interval,
            secrets=external_secret_specs(cfg, backend.layout),
            depends_on=[eso.release],
        ),
        opts=k8s_opts,
    )
    pulumi.export("storeName", store.store_name)
    pulumi.export("appNamespace", app.namespace)
    # ExternalSecret and target Secret share a name; `make verify` reads these.
    pulumi.export("secretNames", app.secret_names)

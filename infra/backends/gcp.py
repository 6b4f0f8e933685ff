"""GCP Secret Manager backend: per-value secrets, per-secret access, Workload Identity, store block."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.eso import NAMESPACE as ESO_NAMESPACE
from components.eso import SERVICE_ACCOUNT as ESO_SERVICE_ACCOUNT
from components.gcp_eso_identity import GcpEsoIdentity, GcpEsoIdentityArgs
from components.gcp_secret_manager import GcpSecretManager, GcpSecretManagerArgs
from infra import catalog
from infra.config import GcpIdentity, StackConfig


class Backend:
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
        self.grants = self.identity.grants
        self.store_provider = self.identity.store_provider

    def export(self) -> None:
        if self.identity.gsa_email is not None:
            pulumi.export("gcpServiceAccountEmail", self.identity.gsa_email)
        pulumi.export("gcpSecretIds", self.secrets.secret_ids)

"""GCP Secret Manager containers for one environment, and their audit trail.

Owns: one secret per catalog value (with ``gcpRotationStart``, each on a
rotation schedule of its catalog maximum age, notifying a Pub/Sub topic this
component owns, with the publisher grant for Secret Manager's service agent) (``aragora-<env>-<slug>``), created without
any version (operators add values with ``gcloud secrets versions add``),
deletion-protected in GCP and in Pulumi, optionally CMEK-encrypted; and the
Data Access audit config for Secret Manager.
Does not own: who may read the secrets (``gcp_eso_identity``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from infra.backends.gcp.settings import GcpSettings


@dataclass(frozen=True)
class GcpSecretManagerArgs:
    settings: GcpSettings
    """Project, replication (empty: automatic), CMEK key (None: Google-managed), audit logs."""
    secret_ids: Mapping[str, str]
    """Stable key (names the Pulumi resource) -> secret id."""
    labels: Mapping[str, str]
    environment: str = "unit"
    max_age_days: Mapping[str, int] = field(default_factory=dict)
    """Stable key -> the value's maximum age: its rotation period when rotation is on."""


def replication(locations: Sequence[str], kms_key_name: str | None) -> dict:
    cmek = {"customer_managed_encryption": {"kms_key_name": kms_key_name}} if kms_key_name else {}
    if not locations:
        return {"auto": cmek}
    return {"user_managed": {"replicas": [{"location": loc, **cmek} for loc in locations]}}


class GcpSecretManager(pulumi.ComponentResource):
    """The (empty) secrets of one environment and Secret Manager's Data Access logs."""

    secret_ids: dict[str, pulumi.Output[str]]
    """Stable key -> full resource id (``projects/<p>/secrets/<id>``)."""

    def __init__(self, name: str, args: GcpSecretManagerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:gcp:GcpSecretManager", name, None, opts)

        self.secret_ids = {}
        cfg = args.settings
        replication_policy = replication(cfg.replica_locations, cfg.kms_key_name)
        rotation_deps: list[pulumi.Resource] = []
        topics = None
        if cfg.rotation_start:
            # Secret Manager publishes "rotate me" to this topic at each secret's
            # next rotation time; its service agent needs to publish there.
            topic = gcp.pubsub.Topic(
                f"{name}-rotation-topic",
                project=cfg.project,
                name=f"aragora-{args.environment}-secret-rotation",
                labels=dict(args.labels),
                opts=pulumi.ResourceOptions(parent=self),
            )
            rotation_deps.append(
                gcp.pubsub.TopicIAMMember(
                    f"{name}-rotation-publisher",
                    project=cfg.project,
                    topic=topic.name,
                    role="roles/pubsub.publisher",
                    member=f"serviceAccount:service-{cfg.project_number}@gcp-sa-secretmanager.iam.gserviceaccount.com",
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
            topics = [{"name": topic.id}]
        for key, secret_id in args.secret_ids.items():
            rotation = (
                {"rotation_period": f"{args.max_age_days[key] * 86400}s", "next_rotation_time": cfg.rotation_start}
                if cfg.rotation_start
                else None
            )
            secret = gcp.secretmanager.Secret(
                f"{name}-{key}",
                project=cfg.project,
                secret_id=secret_id,
                replication=replication_policy,
                labels={**args.labels, "aragora-secret": key},
                topics=topics,
                rotation=rotation,
                # Both guards: GCP refuses the delete, and Pulumi refuses to plan it.
                deletion_protection=True,
                opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=rotation_deps),
            )
            self.secret_ids[key] = secret.id

        if cfg.audit_logs:
            # Authoritative for this service in the project: it replaces any other
            # audit config for secretmanager.googleapis.com (never mix with projects.IAMPolicy).
            gcp.projects.IAMAuditConfig(
                f"{name}-data-access-logs",
                project=cfg.project,
                service="secretmanager.googleapis.com",
                audit_log_configs=[{"log_type": "DATA_READ"}],
                # Project-wide: turning gcpAuditLogs off, or a destroy, forgets
                # it here and leaves the project's audit logging as it was.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )

        self.register_outputs({"secret_ids": self.secret_ids})

"""GCP Secret Manager containers for one environment, and their audit trail.

Owns: one secret per value (e.g. ``aragora-<env>-<slug>``; with a
``rotation_start``, each on a rotation schedule of its maximum age, notifying
a Pub/Sub topic this component owns, with the publisher grant for Secret
Manager's service agent), created without
any version (operators add values with ``gcloud secrets versions add``),
deletion-protected in GCP and in Pulumi, optionally CMEK-encrypted; and the
Data Access audit config for Secret Manager.
Does not own: who may read the secrets (``eso_identity``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp


@dataclass(frozen=True)
class GcpSecretManagerArgs:
    project: str
    secret_ids: Mapping[str, str]
    """Stable key (names the Pulumi resource) -> secret id."""
    labels: Mapping[str, str]
    secret_label_key: str = "secret"
    """Label naming each secret's stable key."""
    replica_locations: Sequence[str] = ()
    """Empty: automatic replication."""
    kms_key_name: str | None = None
    """CMEK key; None: Google-managed encryption."""
    audit_logs: bool = False
    """Turn on Data Access logs for Secret Manager in the project (retained when turned off)."""
    rotation_start: str | None = None
    """First rotation time (RFC 3339); None: no rotation schedule."""
    rotation_topic: str = "secret-rotation"
    """Pub/Sub topic the rotation notices go to."""
    project_number: str | None = None
    """Names Secret Manager's service agent, which publishes rotation notices (needed with ``rotation_start``)."""
    max_age_days: Mapping[str, int] = field(default_factory=dict)
    """Stable key -> the value's maximum age: its rotation period when rotation is on."""

    def __post_init__(self) -> None:
        if self.rotation_start and (not self.project_number or set(self.max_age_days) < set(self.secret_ids)):
            raise ValueError("GcpSecretManagerArgs: rotation needs project_number and a max_age_days for every secret")


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
        replication_policy = replication(args.replica_locations, args.kms_key_name)
        rotation_deps: list[pulumi.Resource] = []
        topics = None
        if args.rotation_start:
            # Secret Manager publishes "rotate me" to this topic at each secret's
            # next rotation time; its service agent needs to publish there.
            topic = gcp.pubsub.Topic(
                f"{name}-rotation-topic",
                project=args.project,
                name=args.rotation_topic,
                labels=dict(args.labels),
                opts=pulumi.ResourceOptions(parent=self),
            )
            rotation_deps.append(
                gcp.pubsub.TopicIAMMember(
                    f"{name}-rotation-publisher",
                    project=args.project,
                    topic=topic.name,
                    role="roles/pubsub.publisher",
                    member=f"serviceAccount:service-{args.project_number}@gcp-sa-secretmanager.iam.gserviceaccount.com",
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
            topics = [{"name": topic.id}]
        for key, secret_id in args.secret_ids.items():
            rotation = (
                {"rotation_period": f"{args.max_age_days[key] * 86400}s", "next_rotation_time": args.rotation_start}
                if args.rotation_start
                else None
            )
            secret = gcp.secretmanager.Secret(
                f"{name}-{key}",
                project=args.project,
                secret_id=secret_id,
                replication=replication_policy,
                labels={**args.labels, args.secret_label_key: key},
                topics=topics,
                rotation=rotation,
                # Both guards: GCP refuses the delete, and Pulumi refuses to plan it.
                deletion_protection=True,
                opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=rotation_deps),
            )
            self.secret_ids[key] = secret.id

        if args.audit_logs:
            # Authoritative for this service in the project: it replaces any other
            # audit config for secretmanager.googleapis.com (never mix with projects.IAMPolicy).
            gcp.projects.IAMAuditConfig(
                f"{name}-data-access-logs",
                project=args.project,
                service="secretmanager.googleapis.com",
                audit_log_configs=[{"log_type": "DATA_READ"}],
                # Project-wide: turning gcpAuditLogs off, or a destroy, forgets
                # it here and leaves the project's audit logging as it was.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )

        self.register_outputs({"secret_ids": self.secret_ids})

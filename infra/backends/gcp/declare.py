"""GCP Secret Manager: one secret per value, per-secret access, Workload Identity, the store's provider block.

Turns ``GcpSettings`` and the catalog into the arguments of ``components/gcp``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.eso import ESO_SERVICE_ACCOUNT
from components.gcp.eso_identity import GcpEsoIdentity, GcpEsoIdentityArgs
from components.gcp.secret_manager import GcpSecretManager, GcpSecretManagerArgs
from components.service_account import ServiceAccount
from infra.backends.base import Declared, RemoteRef
from infra.backends.gcp.settings import GcpIdentity, GcpSettings
from infra.catalog import Catalog
from infra.clusters import Cluster


def store_provider(settings: GcpSettings, eso: ServiceAccount = ESO_SERVICE_ACCOUNT) -> dict[str, Any]:
    """The ClusterSecretStore ``spec.provider`` block."""
    workload_identity = {**settings.store_workload_identity, "serviceAccountRef": eso.ref()}
    return {"gcpsm": {"projectID": settings.project, "auth": {"workloadIdentity": workload_identity}}}


def gsa_account_id(environment: str) -> str:
    """``eso-<env>``, lengthened to GCP's minimum of 6 characters for a one-letter environment
    (unchanged for every longer one, so no deployed account is renamed)."""
    account = f"eso-{environment}"
    return account if len(account) >= 6 else f"{account}-gsa"


def declare(
    environment: str,
    settings: GcpSettings,
    secrets: Catalog,
    k8s_provider: k8s.Provider,
    eso: ServiceAccount,
    clusters: Sequence[Cluster] = (),
    k8s_providers: Mapping[str, k8s.Provider] | None = None,
) -> Declared:
    assert settings.project
    others = list(clusters[1:])
    app = secrets.app
    provider = gcp.Provider("gcp", project=settings.project)
    opts = pulumi.ResourceOptions(providers={"gcp": provider})
    stored = GcpSecretManager(
        "gcp-secrets",
        GcpSecretManagerArgs(
            project=settings.project,
            secret_ids={e.slug: app.per_value_id(environment, e) for e in secrets},
            labels={"app": app.name, "env": environment, "managed-by": "pulumi"},
            secret_label_key=app.value_label_key,
            replica_locations=settings.replica_locations,
            kms_key_name=settings.kms_key_name,
            audit_logs=settings.audit_logs,
            rotation_start=settings.rotation_start,
            rotation_topic=app.resource_name(environment, "secret", "rotation"),
            project_number=settings.project_number,
            max_age_days={e.slug: e.rotation.max_age_days for e in secrets},
        ),
        opts=opts,
    )
    direct = settings.identity is GcpIdentity.DIRECT
    identity = GcpEsoIdentity(
        "gcp-eso-identity",
        GcpEsoIdentityArgs(
            project=settings.project,
            pool_project=settings.pool_project,
            secret_ids=stored.secret_ids,
            eso=eso,
            gsa_account_id=None if direct else gsa_account_id(environment),
            gsa_display_name=f"External Secrets Operator ({environment})",
            gsa_description=f"Reads {app.subject(environment)} secrets, one binding per secret",
            pool_project_number=settings.pool_project_number if direct else None,
            # Every cluster gets Workload Identity; all of them are in the one cluster project (its pool).
            more_eso={c.name: c.common.eso_account for c in others if c.common.eso_account != eso},
        ),
        opts=opts,
    )
    outputs: dict[str, Any] = {"gcpSecretIds": stored.secret_ids}
    if identity.gsa_email is not None:
        outputs["gcpServiceAccountEmail"] = identity.gsa_email
    return Declared(
        clusters={
            c.name: Declared(
                store_name=settings.store_name,
                # That cluster's location and name, the same pool.
                store_provider=store_provider(c.backend, c.common.eso_account),
                remote_ref=lambda e: RemoteRef(app.per_value_id(environment, e)),
                service_account_annotations=identity.service_account_annotations,
                grants=tuple(identity.grants),
            )
            for c in others
        },
        store_name=settings.store_name,
        store_provider=store_provider(settings, eso),
        remote_ref=lambda e: RemoteRef(app.per_value_id(environment, e)),
        service_account_annotations=identity.service_account_annotations,
        grants=tuple(identity.grants),
        outputs=outputs,
    )

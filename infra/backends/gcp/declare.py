"""GCP Secret Manager: one secret per value, per-secret access, Workload Identity, the store's provider block."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from infra import catalog
from infra.backends.base import Declared, RemoteRef
from infra.backends.gcp.eso_identity import GcpEsoIdentity, GcpEsoIdentityArgs
from infra.backends.gcp.secret_manager import GcpSecretManager, GcpSecretManagerArgs
from infra.backends.gcp.settings import GcpSettings
from infra.components.eso import ESO_SERVICE_ACCOUNT


def store_provider(settings: GcpSettings) -> dict[str, Any]:
    """The ClusterSecretStore ``spec.provider`` block."""
    workload_identity = {**settings.store_workload_identity, "serviceAccountRef": ESO_SERVICE_ACCOUNT.ref()}
    return {"gcpsm": {"projectID": settings.project, "auth": {"workloadIdentity": workload_identity}}}


def declare(
    environment: str, settings: GcpSettings, secrets: catalog.Catalog, k8s_provider: k8s.Provider
) -> Declared:
    assert settings.project
    provider = gcp.Provider("gcp", project=settings.project)
    opts = pulumi.ResourceOptions(providers={"gcp": provider})
    stored = GcpSecretManager(
        "gcp-secrets",
        GcpSecretManagerArgs(
            settings=settings,
            secret_ids={e.slug: catalog.per_value_id(environment, e) for e in secrets},
            labels={"app": "aragora", "env": environment, "managed-by": "pulumi"},
            environment=environment,
            max_age_days={e.slug: e.rotation.max_age_days for e in secrets},
        ),
        opts=opts,
    )
    identity = GcpEsoIdentity(
        "gcp-eso-identity",
        GcpEsoIdentityArgs(environment=environment, settings=settings, secret_ids=stored.secret_ids, eso=ESO_SERVICE_ACCOUNT),
        opts=opts,
    )
    outputs: dict[str, Any] = {"gcpSecretIds": stored.secret_ids}
    if identity.gsa_email is not None:
        outputs["gcpServiceAccountEmail"] = identity.gsa_email
    return Declared(
        store_name=settings.store_name,
        store_provider=store_provider(settings),
        remote_ref=lambda e: RemoteRef(catalog.per_value_id(environment, e)),
        service_account_annotations=identity.service_account_annotations,
        grants=tuple(identity.grants),
        outputs=outputs,
    )

"""GCP Secret Manager: one secret per catalog value, per-secret access, ESO by Workload Identity.

``BACKEND`` is this backend's contract (``infra.backends.base.Backend``);
``settings`` its keys; ``declare`` its resources, through ``components/gcp``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from infra.backends.base import Backend, Mocked, MockRequest, Workspace
from infra.backends.gcp.settings import GcpSettings
from infra.catalog import Catalog
from infra.durations import HOURS_PER_MONTH, go_duration_seconds


def _mock(r: MockRequest) -> Mocked | None:
    if r.typ == "gcp:serviceaccount/account:Account":
        email = f"{r.inputs['accountId']}@{r.project}.iam.gserviceaccount.com"
        name = f"projects/{r.project}/serviceAccounts/{email}"
        return name, {**r.inputs, "email": email, "name": name, "member": f"serviceAccount:{email}"}
    if r.typ == "gcp:secretmanager/secret:Secret":
        sid = f"projects/{r.project}/secrets/{r.inputs['secretId']}"
        return sid, {**r.inputs, "name": sid}
    return None


def _access_documents(stack: str, resources: list[dict[str, Any]]) -> dict[str, str]:
    bindings = [
        {k: r["inputs"][k] for k in ("secretId", "role", "member")}
        for r in resources
        if r["type"] == "gcp:secretmanager/secretIamMember:SecretIamMember"
    ]
    if not bindings:
        return {}
    return {f"gcp-{stack}-secret-accessors.json": json.dumps(sorted(bindings, key=lambda b: b["secretId"]), indent=2) + "\n"}


def _enabled_versions(environment: str, settings: GcpSettings, secrets: Catalog):
    try:
        from google.cloud import secretmanager
    except ImportError:
        raise ModuleNotFoundError("the GCP readers need google-cloud-secret-manager: pip install google-cloud-secret-manager") from None
    client = secretmanager.SecretManagerServiceClient()

    def versions(entry):
        parent = f"projects/{settings.project}/secrets/{secrets.app.per_value_id(environment, entry)}"
        return parent, [v.create_time for v in client.list_secret_versions(request={"parent": parent}) if v.state.name == "ENABLED"]

    return versions


def _value_age(environment: str, settings: GcpSettings, secrets: Catalog):
    versions = _enabled_versions(environment, settings, secrets)

    def changed(entry):
        parent, enabled = versions(entry)
        return parent, max(enabled) if enabled else None

    return changed


def _value_presence(environment: str, settings: GcpSettings, secrets: Catalog):
    versions = _enabled_versions(environment, settings, secrets)

    def present(entry):
        parent, enabled = versions(entry)
        return parent, bool(enabled)

    return present


def _billed_secret(inputs: dict, resources: Sequence[dict] = ()) -> dict[str, float]:
    """One current version per location (automatic replication bills as one), and rotation notices."""
    replicas = ((inputs.get("replication") or {}).get("userManaged") or {}).get("replicas") or []
    billed = {"version-location-months": float(max(1, len(replicas)))}
    period = go_duration_seconds(str((inputs.get("rotation") or {}).get("rotationPeriod") or ""))
    if period:
        billed["rotation-notifications"] = HOURS_PER_MONTH * 3600 / period
    return billed


def _credentials(settings: GcpSettings) -> str:
    return f"Google credentials for project {settings.project}: GOOGLE_APPLICATION_CREDENTIALS, or `gcloud auth application-default login`"


def _workspace(settings: GcpSettings) -> Workspace:
    gsa = settings.deployer_service_account
    return Workspace(
        identity_key="gcpDeployerServiceAccount",
        identity=gsa,
        annotations={"iam.gke.io/gcp-service-account": gsa} if gsa else {},
        env={"GOOGLE_CLOUD_PROJECT": settings.project or ""},
        note="grant roles/iam.workloadIdentityUser on the service account to the workspace's Kubernetes service account",
    )


BACKEND = Backend(
    settings=GcpSettings,
    # terraform-provider-google ForceNew attributes of every type declare.py can declare.
    replace_on={
        "pulumi:providers:gcp": ("project",),
        "gcp:secretmanager/secret:Secret": ("secretId", "project", "replication"),
        "gcp:secretmanager/secretIamMember:SecretIamMember": ("secretId", "role", "member", "project", "condition"),
        "gcp:serviceaccount/account:Account": ("accountId", "project"),
        "gcp:serviceaccount/iAMMember:IAMMember": ("serviceAccountId", "role", "member", "condition"),
        "gcp:projects/iAMAuditConfig:IAMAuditConfig": ("project", "service"),
        "gcp:pubsub/topic:Topic": ("name", "project"),
        "gcp:pubsub/topicIAMMember:TopicIAMMember": ("topic", "role", "member", "project", "condition"),
    },
    value_types={"gcp:secretmanager/secret:Secret": "deletes the secret and every version of its value"},
    grant_types=("gcp:serviceaccount/iAMMember:IAMMember", "gcp:secretmanager/secretIamMember:SecretIamMember"),
    access_documents=_access_documents,
    value_age=_value_age,
    value_presence=_value_presence,
    credentials=_credentials,
    ci_inputs=("gcp-workload-identity-provider", "gcp-service-account", "gke-cluster-name", "gke-cluster-location", "gke-cluster-project"),
    mock=_mock,
    workspace=_workspace,
    unique_on={
        "gcp:secretmanager/secret:Secret": ("project", "secretId"),
        "gcp:serviceaccount/account:Account": ("project", "accountId"),
        "gcp:pubsub/topic:Topic": ("project", "name"),
    },
    billed={"gcp:secretmanager/secret:Secret": _billed_secret},
)

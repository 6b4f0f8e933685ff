"""GCP Secret Manager: one secret per catalog value, per-secret access, ESO by Workload Identity.

``BACKEND`` is this backend's core (``infra.backends.base.Backend``): its
settings, its ``Pulumi.yaml`` keys and the facts of every type ``declare.py``
can declare (terraform-provider-google ForceNew attributes, data-loss notes,
grants, unique ids, billed units, provider-computed names). Its capabilities
are the files beside it: ``access.py``, ``reader.py``, ``workspace.py``,
``ci.py``, ``prices.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.facts import Facts
from infra.backends.base import Backend, Mocked, MockRequest
from infra.backends.gcp.settings import GcpSettings
from infra.durations import HOURS_PER_MONTH, go_duration_seconds


def _service_account(r: MockRequest) -> Mocked:
    email = f"{r.inputs['accountId']}@{r.project}.iam.gserviceaccount.com"
    name = f"projects/{r.project}/serviceAccounts/{email}"
    return name, {**r.inputs, "email": email, "name": name, "member": f"serviceAccount:{email}"}


def _secret(r: MockRequest) -> Mocked:
    sid = f"projects/{r.project}/secrets/{r.inputs['secretId']}"
    return sid, {**r.inputs, "name": sid}


def _billed_secret(inputs: dict, resources: Sequence[dict] = ()) -> dict[str, float]:
    """One current version per location (automatic replication bills as one), and rotation notices."""
    replicas = ((inputs.get("replication") or {}).get("userManaged") or {}).get("replicas") or []
    billed = {"version-location-months": float(max(1, len(replicas)))}
    period = go_duration_seconds(str((inputs.get("rotation") or {}).get("rotationPeriod") or ""))
    if period:
        billed["rotation-notifications"] = HOURS_PER_MONTH * 3600 / period
    return billed


KEYS: dict[str, dict[str, Any]] = {
    "gcpDeployerServiceAccount": {
        "type": "string",
        "default": "",
        "description": "Google service account the Pulumi Kubernetes Operator's workspace impersonates through Workload Identity to run this stack (make operator); unused by pulumi up.",
    },
    "gcpProject": {
        "type": "string",
        "default": "",
        "description": "GCP project id holding the secrets (backend gcp).",
    },
    "gcpProjectNumber": {
        "type": "string",
        "default": "",
        "description": "Numeric project number; required for gcpIdentity direct.",
    },
    "gcpIdentity": {
        "type": "string",
        "default": "gsa",
        "description": "Workload Identity mode - gsa (impersonate a Google service account) or direct (Kubernetes SA as principal).",
    },
    "gcpReplicaLocations": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Empty for automatic replication, else the regions of user-managed replication.",
    },
    "gcpKmsKeyName": {
        "type": "string",
        "default": "",
        "description": "Optional CMEK key (projects/.../cryptoKeys/...); global for automatic replication, else in the single replica region.",
    },
    "gcpClusterLocation": {
        "type": "string",
        "default": "",
        "description": "GKE cluster location for the store's workloadIdentity block (empty reads the metadata server).",
    },
    "gcpClusterName": {
        "type": "string",
        "default": "",
        "description": "GKE cluster name for the store's workloadIdentity block.",
    },
    "gcpClusterProject": {
        "type": "string",
        "default": "",
        "description": "Project of the GKE cluster, when it is not gcpProject.",
    },
    "gcpClusterProjectNumber": {
        "type": "string",
        "default": "",
        "description": "Number of gcpClusterProject, whose Workload Identity pool the cluster uses; required with gcpIdentity direct when that project is not gcpProject (gcpProjectNumber stays the secrets project's).",
    },
    "gcpRotationStart": {
        "type": "string",
        "default": "",
        "description": "First rotation time (RFC 3339, UTC); set, every secret gets a rotation schedule of its catalog max age and notifies a Pub/Sub topic (needs gcpProjectNumber).",
    },
    "gcpAuditLogs": {
        "type": "boolean",
        "default": True,
        "description": "Data Access (DATA_READ) audit logs for Secret Manager. The audit config is authoritative for that service in the project.",
    },
}

BACKEND = Backend(
    settings=GcpSettings,
    keys=KEYS,
    # terraform-provider-google ForceNew attributes of every type declare.py can declare.
    resources={
        "pulumi:providers:gcp": Facts(("project",)),
        "gcp:secretmanager/secret:Secret": Facts(
            ("secretId", "project", "replication"),
            data_loss="deletes the secret and every version of its value",
            unique_on=("project", "secretId"),
            billed=_billed_secret,
            mock=_secret,
        ),
        "gcp:secretmanager/secretIamMember:SecretIamMember": Facts(("secretId", "role", "member", "project", "condition"), grant=True),
        "gcp:serviceaccount/account:Account": Facts(("accountId", "project"), unique_on=("project", "accountId"), mock=_service_account),
        "gcp:serviceaccount/iAMMember:IAMMember": Facts(("serviceAccountId", "role", "member", "condition"), grant=True),
        "gcp:projects/iAMAuditConfig:IAMAuditConfig": Facts(("project", "service")),
        "gcp:pubsub/topic:Topic": Facts(("name", "project"), unique_on=("project", "name")),
        "gcp:pubsub/topicIAMMember:TopicIAMMember": Facts(("topic", "role", "member", "project", "condition")),
    },
)

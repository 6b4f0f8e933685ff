"""How a Pulumi Kubernetes Operator workspace runs a GCP stack: Workload Identity to the deployer service account."""

from __future__ import annotations

from infra.backends.base import Workspace
from infra.backends.gcp.settings import GcpSettings


# The platform sets up beside the manifests: grant roles/iam.workloadIdentityUser on the service account to the
# workspace's Kubernetes service account.
def workspace(settings: GcpSettings) -> Workspace:
    gsa = settings.deployer_service_account
    return Workspace(
        identity_key="gcpDeployerServiceAccount",
        identity=gsa,
        annotations={"iam.gke.io/gcp-service-account": gsa} if gsa else {},
        env={"GOOGLE_CLOUD_PROJECT": settings.project or ""},
    )

"""The GCP backend's config keys: one field per ``Pulumi.yaml`` key, rule and message beside it."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from infra.fields import BackendSettings, Flag, choice, reject, text, text_list
from infra.separation import Claim


class GcpIdentity(StrEnum):
    GSA = "gsa"
    """A Google service account impersonated through Workload Identity."""
    DIRECT = "direct"
    """Direct Workload Identity Federation: the Kubernetes service account is the principal."""


PROJECT_ID = r"[a-z][a-z0-9-]{4,28}[a-z0-9]"
PROJECT_RULE = "a GCP project id: 6-30 of a-z, 0-9, '-', starting with a letter"
REGION = r"[a-z]+-[a-z]+[0-9]{1,2}"
KMS_KEY = (
    rf"projects/{PROJECT_ID}/locations/(?P<location>[a-z0-9-]+)/keyRings/[A-Za-z0-9_-]{{1,63}}/cryptoKeys/[A-Za-z0-9_-]{{1,63}}"
)


_GKE_CONTEXT = re.compile(r"gke_(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9])_(?P<location>[a-z]+-[a-z]+[0-9](?:-[a-z])?)_(?P<cluster>[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)")


class GcpSettings(BackendSettings):
    name: ClassVar[str] = "gcp"
    store_name: ClassVar[str] = "gcp-secret-manager"

    project: text(PROJECT_ID, PROJECT_RULE, optional=True) = Field(alias="gcpProject")
    project_number: text(r"[1-9][0-9]{5,19}", "a GCP project number, digits only, e.g. 123456789012", optional=True) = Field(
        alias="gcpProjectNumber"
    )
    identity: choice(GcpIdentity) = Field(alias="gcpIdentity")
    replica_locations: text_list(REGION, "GCP regions, e.g. [us-east1, europe-west4]") = Field(alias="gcpReplicaLocations")
    kms_key_name: text(KMS_KEY, "a Cloud KMS key, projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>", optional=True) = Field(
        alias="gcpKmsKeyName"
    )
    cluster_location: text(
        rf"{REGION}(?:-[a-z])?", "a GKE cluster location, a region or zone, e.g. us-east1 or us-east1-b", optional=True
    ) = Field(alias="gcpClusterLocation")
    cluster_name: text(
        r"[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?", "a GKE cluster name: up to 40 of a-z, 0-9, '-', starting with a letter", optional=True
    ) = Field(alias="gcpClusterName")
    cluster_project: text(PROJECT_ID, PROJECT_RULE, optional=True) = Field(alias="gcpClusterProject")
    audit_logs: Flag = Field(alias="gcpAuditLogs")
    deployer_service_account: text(
        r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com",
        "a Google service account email, e.g. aragora-deployer@my-project.iam.gserviceaccount.com",
        optional=True,
    ) = Field(alias="gcpDeployerServiceAccount")
    cluster_project_number: text(
        r"[1-9][0-9]{5,19}", "the GKE cluster project's number, digits only, e.g. 123456789012", optional=True
    ) = Field(alias="gcpClusterProjectNumber")
    rotation_start: text(
        r"20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z",
        "the first rotation time, RFC 3339 in UTC, e.g. 2027-01-04T09:00:00Z",
        optional=True,
    ) = Field(alias="gcpRotationStart")

    @model_validator(mode="after")
    def _consistent(self) -> GcpSettings:
        if self.project is None:
            reject("gcpProject", "", "is missing (required when backend is gcp)")
        if self.identity is GcpIdentity.DIRECT and self.project_number is None:
            reject("gcpProjectNumber", "", "is missing (required when gcpIdentity is direct)")
        if self.rotation_start:
            try:
                datetime.strptime(self.rotation_start, "%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                reject("gcpRotationStart", self.rotation_start, "is not a date and time that exists (allowed: RFC 3339 in UTC, e.g. 2027-01-04T09:00:00Z)")
        if self.rotation_start and self.project_number is None:
            reject("gcpProjectNumber", "", "is missing (required with gcpRotationStart: the Secret Manager service agent is named by it)")
        separate_pool = bool(self.cluster_project) and self.cluster_project != self.project
        if self.cluster_project_number and not separate_pool:
            reject("gcpClusterProjectNumber", self.cluster_project_number, "is set without a gcpClusterProject other than gcpProject (allowed: only then; else gcpProjectNumber is the number)")
        if self.identity is GcpIdentity.DIRECT and separate_pool and self.cluster_project_number is None:
            # The Workload Identity principal names the pool project's number; gcpProjectNumber is the secrets project's.
            reject("gcpClusterProjectNumber", "", "is missing (required with gcpIdentity direct when gcpClusterProject differs from gcpProject: the pool is that project's)")
        if separate_pool and self.cluster_project_number and self.cluster_project_number == self.project_number:
            reject("gcpClusterProjectNumber", self.cluster_project_number, "is gcpProjectNumber too, but the two projects differ (allowed: each project's own number)")
        if self.cluster_name and not self.cluster_location:
            reject("gcpClusterLocation", "", "is missing (required when gcpClusterName is set)")
        key = re.fullmatch(KMS_KEY, self.kms_key_name or "", re.ASCII)
        if key:
            where = key["location"]
            if not self.replica_locations and where != "global":
                reject("gcpKmsKeyName", self.kms_key_name, f"is in {where} and cannot encrypt automatically replicated secrets (allowed: a key in global, or gcpReplicaLocations [{where}])")
            if self.replica_locations and self.replica_locations != (where,):
                reject("gcpKmsKeyName", self.kms_key_name, f"is in {where}, not the one replica region (allowed: gcpReplicaLocations [{where}])")
        return self

    def check_cluster(self, primary: BackendSettings) -> None:
        # Each cluster reads a copy near it: user-managed replication must include its region (changing
        # the replication of a deployed secret replaces it, so it is never widened here).
        region = re.sub(r"-[a-z]$", "", self.cluster_location or "")
        if self.replica_locations and region and region not in self.replica_locations:
            reject(
                "gcpClusterLocation",
                self.cluster_location,
                f"is not among gcpReplicaLocations {list(self.replica_locations)} (allowed: a cluster in a replica region; "
                f"adding {region} to gcpReplicaLocations replaces every secret)",
            )

    def exclusive(self) -> list[Claim]:
        pool_key = "gcpClusterProject" if self.cluster_project else "gcpProject"
        claims = [
            Claim("gcpProject", f"gcp-secrets/{self.project}", self.project or "", "a project of this environment's own"),
            # One pool per project: every cluster in it presents the same
            # Workload Identity member for external-secrets/external-secrets.
            Claim(pool_key, f"gcp-pool/{self.pool_project}", self.pool_project, "the Workload Identity pool of this environment's own cluster project"),
        ]
        if self.deployer_service_account:
            # The account that deploys one environment holds its admin rights: it deploys no other.
            gsa = self.deployer_service_account
            claims.append(Claim("gcpDeployerServiceAccount", f"gsa/{gsa}", gsa, "a deployer service account of this environment's own"))
        # A project number names one project everywhere (and a project has one number): every stack that
        # states one must state it alike, or a principal or service agent would name another project.
        for key, project, number in (
            ("gcpProjectNumber", self.project, self.project_number),
            ("gcpClusterProjectNumber", self.cluster_project, self.cluster_project_number),
        ):
            if project and number:
                why = "the number GCP gave this project, the same in every stack"
                claims.append(Claim(key, f"gcp-project-number/{number}", number, why, fact=f"project {project}'s number"))
                claims.append(Claim(key, f"gcp-number-of/{project}", number, why, fact=f"{project}'s number {number}"))
        return claims

    def check_catalog(self, environment: str, secrets) -> None:
        # ESO's own Google account (eso-<env>, any environment's) never deploys: its key reads every value.
        gsa = self.deployer_service_account or ""
        if gsa.split("@", 1)[0].startswith("eso-"):
            reject("gcpDeployerServiceAccount", gsa, "is an ESO service account of this project (allowed: a deployer account that is not ESO's)")

    @property
    def pool_project_number(self) -> str | None:
        """Number of the project whose Workload Identity pool the cluster uses."""
        return self.cluster_project_number or self.project_number

    def check_kube_context(self, context: str) -> None:
        # gcloud names a GKE context gke_<project>_<location>_<cluster>: it must be this stack's cluster project
        # (and cluster, where named), or the stack applies into a cluster another identity pool serves.
        match = _GKE_CONTEXT.fullmatch(context)
        if match is None:
            return
        if match["project"] != self.pool_project:
            reject("kubeContext", context, f"is a GKE cluster of project {match['project']} (allowed: a cluster of {self.pool_project}, this stack's cluster project)")
        for key, mine, theirs in (("gcpClusterLocation", self.cluster_location, match["location"]), ("gcpClusterName", self.cluster_name, match["cluster"])):
            if mine and mine != theirs:
                reject("kubeContext", context, f"names {theirs} but {key} is {mine} (allowed: the cluster this stack's store names)")

    @property
    def pool_project(self) -> str:
        """Project whose ``<project>.svc.id.goog`` Workload Identity pool the cluster uses."""
        return self.cluster_project or self.project or ""

    @property
    def store_workload_identity(self) -> dict[str, str]:
        """``clusterLocation``/``clusterName``/``clusterProjectID`` for the store, when known."""
        known = (
            ("clusterLocation", self.cluster_location),
            ("clusterName", self.cluster_name),
            ("clusterProjectID", self.cluster_project),
        )
        return {k: v for k, v in known if v}

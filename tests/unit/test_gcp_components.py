"""GcpSecretManager and GcpEsoIdentity built alone from known settings."""

from __future__ import annotations

from infra.backends.gcp.eso_identity import GcpEsoIdentity, GcpEsoIdentityArgs
from infra.backends.gcp.secret_manager import GcpSecretManager, GcpSecretManagerArgs
from infra.backends.gcp.settings import GcpSettings
from infra.components.eso import ServiceAccount
from stacktools.recorder import declare
from tests.support import settings

BASE = {"gcpProject": "unit-proj-1", "gcpIdentity": "gsa", "gcpClusterProject": "pool-proj-2", "gcpAuditLogs": "false"}
ESO = ServiceAccount("ns-x", "sa-y")


def test_secret_manager_declares_one_protected_secret_per_id_and_no_audit_config_when_off():
    gcp_settings = settings(GcpSettings, **BASE, gcpReplicaLocations=["europe-west4"])
    plan = declare(lambda: GcpSecretManager("sm", GcpSecretManagerArgs(settings=gcp_settings, secret_ids={"a": "id-a"}, labels={"l": "v"})))
    (secret,) = plan.of_type("gcp:secretmanager/secret:Secret")
    assert (secret["name"], secret["inputs"]["secretId"], secret["inputs"]["project"]) == ("sm-a", "id-a", "unit-proj-1")
    assert secret["inputs"]["replication"] == {"userManaged": {"replicas": [{"location": "europe-west4"}]}}
    assert secret["protect"] is True and secret["inputs"]["deletionProtection"] is True
    assert plan.of_type("gcp:projects/iAMAuditConfig:IAMAuditConfig") == []


def test_gsa_identity_binds_the_pool_of_the_cluster_project_and_one_accessor_per_secret():
    gcp_settings = settings(GcpSettings, **BASE)
    plan = declare(lambda: GcpEsoIdentity("id", GcpEsoIdentityArgs(environment="unit", settings=gcp_settings, secret_ids={"a": "s/a", "b": "s/b"}, eso=ESO)))
    wi = plan.one("gcp:serviceaccount/iAMMember:IAMMember")["inputs"]
    assert wi["member"] == "serviceAccount:pool-proj-2.svc.id.goog[ns-x/sa-y]"
    accessors = plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert sorted(a["inputs"]["secretId"] for a in accessors) == ["s/a", "s/b"]
    assert {a["inputs"]["member"] for a in accessors} == {"serviceAccount:eso-unit@unit-proj-1.iam.gserviceaccount.com"}


def test_direct_identity_grants_the_federated_principal_and_creates_no_service_account():
    gcp_settings = settings(GcpSettings, **{**BASE, "gcpIdentity": "direct", "gcpProjectNumber": "998877665544"})
    plan = declare(lambda: GcpEsoIdentity("id", GcpEsoIdentityArgs(environment="unit", settings=gcp_settings, secret_ids={"a": "s/a"}, eso=ESO)))
    assert plan.of_type("gcp:serviceaccount/account:Account") == []
    (accessor,) = plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert accessor["inputs"]["member"] == (
        "principal://iam.googleapis.com/projects/998877665544/locations/global/workloadIdentityPools/"
        "pool-proj-2.svc.id.goog/subject/ns/ns-x/sa/sa-y"
    )

"""GcpSecretManager and GcpEsoIdentity built alone from explicit arguments."""

from __future__ import annotations

import pytest

from components.gcp.eso_identity import GcpEsoIdentity, GcpEsoIdentityArgs
from components.gcp.secret_manager import GcpSecretManager, GcpSecretManagerArgs
from components.service_account import ServiceAccount
from tests.unit.harness import declare

ESO = ServiceAccount("ns-x", "sa-y")
IDENTITY = {"project": "unit-proj-1", "pool_project": "pool-proj-2", "eso": ESO}
# What IAM computes for a created service account: its email.
COMPUTED = {
    "gcp:serviceaccount/account:Account": lambda name, inputs: {
        "email": f"{inputs['accountId']}@{inputs['project']}.iam.gserviceaccount.com",
        "name": f"projects/{inputs['project']}/serviceAccounts/{inputs['accountId']}@{inputs['project']}.iam.gserviceaccount.com",
    }
}


def test_secret_manager_declares_one_protected_secret_per_id_and_no_audit_config_when_off():
    args = GcpSecretManagerArgs(project="unit-proj-1", secret_ids={"a": "id-a"}, labels={"l": "v"}, secret_label_key="k", replica_locations=["europe-west4"])
    plan = declare(lambda: GcpSecretManager("sm", args))
    (secret,) = plan.of_type("gcp:secretmanager/secret:Secret")
    assert (secret["name"], secret["inputs"]["secretId"], secret["inputs"]["project"]) == ("sm-a", "id-a", "unit-proj-1")
    assert secret["inputs"]["replication"] == {"userManaged": {"replicas": [{"location": "europe-west4"}]}}
    assert secret["inputs"]["labels"] == {"l": "v", "k": "a"}
    assert secret["protect"] is True and secret["inputs"]["deletionProtection"] is True
    assert plan.of_type("gcp:projects/iAMAuditConfig:IAMAuditConfig") == [] and plan.of_type("gcp:pubsub/topic:Topic") == []


def test_rotation_schedules_each_secret_at_its_max_age_and_lets_the_service_agent_publish():
    args = GcpSecretManagerArgs(
        project="unit-proj-1", secret_ids={"a": "id-a"}, labels={}, rotation_start="2027-01-04T09:00:00Z",
        rotation_topic="t-unit", project_number="998877665544", max_age_days={"a": 30}, audit_logs=True,
    )
    plan = declare(lambda: GcpSecretManager("sm", args))
    (secret,) = plan.of_type("gcp:secretmanager/secret:Secret")
    assert secret["inputs"]["rotation"] == {"rotationPeriod": f"{30 * 86400}s", "nextRotationTime": "2027-01-04T09:00:00Z"}
    assert plan.one("gcp:pubsub/topic:Topic")["inputs"]["name"] == "t-unit"
    publisher = plan.one("gcp:pubsub/topicIAMMember:TopicIAMMember")["inputs"]
    assert publisher["member"] == "serviceAccount:service-998877665544@gcp-sa-secretmanager.iam.gserviceaccount.com"
    assert plan.one("gcp:projects/iAMAuditConfig:IAMAuditConfig")["retain_on_delete"] is True


def test_rotation_without_the_project_number_is_refused():
    with pytest.raises(ValueError, match="rotation needs project_number"):
        GcpSecretManagerArgs(project="p", secret_ids={"a": "id-a"}, labels={}, rotation_start="2027-01-04T09:00:00Z", max_age_days={"a": 1})


def test_gsa_identity_binds_the_pool_of_the_cluster_project_and_one_accessor_per_secret():
    args = GcpEsoIdentityArgs(**IDENTITY, secret_ids={"a": "s/a", "b": "s/b"}, gsa_account_id="eso-unit")
    plan = declare(lambda: GcpEsoIdentity("id", args), computed=COMPUTED)
    wi = plan.one("gcp:serviceaccount/iAMMember:IAMMember")["inputs"]
    assert wi["member"] == "serviceAccount:pool-proj-2.svc.id.goog[ns-x/sa-y]"
    accessors = plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert sorted(a["inputs"]["secretId"] for a in accessors) == ["s/a", "s/b"]
    assert {a["inputs"]["member"] for a in accessors} == {"serviceAccount:eso-unit@unit-proj-1.iam.gserviceaccount.com"}


def test_direct_identity_grants_the_federated_principal_and_creates_no_service_account():
    args = GcpEsoIdentityArgs(**IDENTITY, secret_ids={"a": "s/a"}, pool_project_number="998877665544")
    plan = declare(lambda: GcpEsoIdentity("id", args), computed=COMPUTED)
    assert plan.of_type("gcp:serviceaccount/account:Account") == []
    (accessor,) = plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert accessor["inputs"]["member"] == (
        "principal://iam.googleapis.com/projects/998877665544/locations/global/workloadIdentityPools/"
        "pool-proj-2.svc.id.goog/subject/ns/ns-x/sa/sa-y"
    )


@pytest.mark.parametrize("mode", [{}, {"gsa_account_id": "eso-x", "pool_project_number": "1234567"}])
def test_exactly_one_identity_mode_is_required(mode):
    with pytest.raises(ValueError, match="exactly one of gsa_account_id"):
        GcpEsoIdentityArgs(**IDENTITY, secret_ids={}, **mode)

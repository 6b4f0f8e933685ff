"""The GCP backend: per-secret access only, exact Workload Identity members, audit logs."""

from __future__ import annotations

import json

import pytest

from components.eso_api import CLUSTER_SECRET_STORE_TYPE, EXTERNAL_SECRET_TYPE
from infra import catalog
from infra.fields import ConfigError
from stacktools import plan as plan_cmd
from tests.support import PLANS, configured, plans_of, render, render_named

GCP_PLANS = plans_of("gcp")
GSA_PLANS = [n for n in GCP_PLANS if configured(PLANS[n][0], "gcpIdentity", PLANS[n][1]) == "gsa"]
DIRECT_PLANS = [n for n in GCP_PLANS if configured(PLANS[n][0], "gcpIdentity", PLANS[n][1]) == "direct"]
GSA, DIRECT = PLANS[GSA_PLANS[0]], PLANS[DIRECT_PLANS[0]]
SECRET = "gcp:secretmanager/secret:Secret"
BINDING = "gcp:secretmanager/secretIamMember:SecretIamMember"
PROJECT_IAM = ("gcp:projects/iAMMember:IAMMember", "gcp:projects/iAMBinding:IAMBinding", "gcp:projects/iAMPolicy:IAMPolicy")


@pytest.fixture(params=GCP_PLANS)
def gplan(request):
    return render_named(request.param)


def test_no_project_level_secret_accessor_binding_exists(gplan):
    for type_ in PROJECT_IAM:
        for r in gplan.of_type(type_):
            assert r["inputs"].get("role") != "roles/secretmanager.secretAccessor"
    assert not any(r["type"].startswith("gcp:projects/iAM") and "Audit" not in r["type"] for r in gplan.resources)


def test_one_secret_per_catalog_value_named_with_the_environment(gplan):
    ids = sorted(r["inputs"]["secretId"] for r in gplan.of_type(SECRET))
    assert ids == sorted(f"aragora-{gplan.stack}-{e.slug}" for e in catalog.CATALOG)
    assert f"aragora-{gplan.stack}-database-url" in ids and f"aragora-{gplan.stack}-jwt-secret" in ids


def test_secrets_are_deletion_protected_labelled_and_have_no_version(gplan):
    assert not [r for r in gplan.resources if r["type"] == "gcp:secretmanager/secretVersion:SecretVersion"]
    for r in gplan.of_type(SECRET):
        assert r["inputs"]["deletionProtection"] is True
        assert r["protect"] is True
        assert {"app": "aragora", "env": gplan.stack, "managed-by": "pulumi"}.items() <= r["inputs"]["labels"].items()


def test_each_secret_has_exactly_one_accessor_binding_for_this_environments_identity(gplan):
    secrets = {f"projects/{r['inputs']['project']}/secrets/{r['inputs']['secretId']}" for r in gplan.of_type(SECRET)}
    bindings = gplan.of_type(BINDING)
    assert sorted(b["inputs"]["secretId"] for b in bindings) == sorted(secrets)
    members = {b["inputs"]["member"] for b in bindings}
    assert len(members) == 1
    (member,) = members
    assert {b["inputs"]["role"] for b in bindings} == {"roles/secretmanager.secretAccessor"}
    for other in {PLANS[n][0] for n in GCP_PLANS} - {gplan.stack}:
        assert f"-{other}" not in member and f"{other}@" not in member


def test_gsa_mode_workload_identity_member_is_exactly_eso_service_account():
    plan = render(*GSA)
    wi = plan.one("gcp:serviceaccount/iAMMember:IAMMember")["inputs"]
    assert wi["role"] == "roles/iam.workloadIdentityUser"
    pool = plan.setting("gcpClusterProject") or plan.setting("gcpProject")
    assert wi["member"] == f"serviceAccount:{pool}.svc.id.goog[external-secrets/external-secrets]"
    gsa = plan.one("gcp:serviceaccount/account:Account")["inputs"]
    assert gsa["accountId"] == f"eso-{plan.stack}"
    email = plan.outputs["gcpServiceAccountEmail"]
    assert email == f"eso-{plan.stack}@{plan.setting('gcpProject')}.iam.gserviceaccount.com"
    assert {b["inputs"]["member"] for b in plan.of_type(BINDING)} == {f"serviceAccount:{email}"}


def test_eso_service_account_annotation_equals_the_gsa_email_output():
    plan = render(*GSA)
    values = plan.one("kubernetes:helm.sh/v3:Release")["inputs"]["values"]
    assert values["serviceAccount"]["annotations"] == {"iam.gke.io/gcp-service-account": plan.outputs["gcpServiceAccountEmail"]}


def test_direct_mode_grants_the_federated_kubernetes_principal_and_creates_no_gsa():
    plan = render(*DIRECT)
    assert plan.of_type("gcp:serviceaccount/account:Account") == []
    assert plan.of_type("gcp:serviceaccount/iAMMember:IAMMember") == []
    pool = plan.setting("gcpClusterProject") or plan.setting("gcpProject")
    assert {b["inputs"]["member"] for b in plan.of_type(BINDING)} == {
        f"principal://iam.googleapis.com/projects/{plan.setting('gcpProjectNumber')}/locations/global/workloadIdentityPools/"
        f"{pool}.svc.id.goog/subject/ns/external-secrets/sa/external-secrets"
    }
    assert plan.one("kubernetes:helm.sh/v3:Release")["inputs"]["values"]["serviceAccount"]["annotations"] == {}
    assert "gcpServiceAccountEmail" not in plan.outputs


def test_data_access_audit_logs_for_secret_manager_are_on(gplan):
    audit = gplan.one("gcp:projects/iAMAuditConfig:IAMAuditConfig")["inputs"]
    assert audit["service"] == "secretmanager.googleapis.com"
    assert audit["auditLogConfigs"] == [{"logType": "DATA_READ"}]
    assert audit["project"] == gplan.one("pulumi:providers:gcp")["inputs"]["project"]
    # Project-wide: turning it off or destroying the stack never removes it.
    assert gplan.one("gcp:projects/iAMAuditConfig:IAMAuditConfig")["retain_on_delete"] is True


def test_replication_is_automatic_or_user_managed_by_config():
    auto = render(*GSA, gcpReplicaLocations=[]).of_type(SECRET)[0]["inputs"]["replication"]
    assert auto == {"auto": {}}
    user = render(*GSA, gcpReplicaLocations=["us-east1", "us-central1"]).of_type(SECRET)[0]["inputs"]["replication"]
    assert user == {"userManaged": {"replicas": [{"location": "us-east1"}, {"location": "us-central1"}]}}


def test_cmek_key_is_set_on_every_secret_when_configured():
    key = "projects/kms-example/locations/global/keyRings/aragora/cryptoKeys/secrets"
    plan = render(*GSA, gcpKmsKeyName=key, gcpReplicaLocations=[])
    for r in plan.of_type(SECRET):
        assert r["inputs"]["replication"] == {"auto": {"customerManagedEncryption": {"kmsKeyName": key}}}


def test_store_uses_workload_identity_with_cluster_and_service_account_ref(gplan):
    store = gplan.one(CLUSTER_SECRET_STORE_TYPE)["inputs"]
    assert store["metadata"]["name"] == "gcp-secret-manager"
    assert store["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    gcpsm = store["spec"]["provider"]["gcpsm"]
    assert gcpsm["projectID"] == gplan.one("pulumi:providers:gcp")["inputs"]["project"]
    assert gcpsm["auth"]["workloadIdentity"] == {
        "clusterLocation": gplan.setting("gcpClusterLocation"),
        "clusterName": gplan.setting("gcpClusterName"),
        "serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"},
    }


def test_external_secrets_read_one_gcp_secret_per_value_without_property(gplan):
    refs = {
        d["secretKey"]: d["remoteRef"]
        for r in gplan.of_type(EXTERNAL_SECRET_TYPE)
        for d in r["inputs"]["spec"]["data"]
    }
    assert refs == {e.env_var: {"key": f"aragora-{gplan.stack}-{e.slug}"} for e in catalog.CATALOG}


def test_two_environments_never_share_a_secret_id_even_in_one_project(tmp_path):
    a = render(*GSA)
    other = next(PLANS[n][0] for n in GCP_PLANS if PLANS[n][0] != a.stack)
    # Another environment with the same stack file, so the same project; alone in
    # its directory, as the separation check would refuse the shared project.
    alone = tmp_path / f"Pulumi.{other}.yaml"
    alone.write_text(GSA[1].read_text())
    b = render(other, alone)
    ids = [{r["inputs"]["secretId"] for r in p.of_type(SECRET)} for p in (a, b)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]


def test_plan_writes_the_per_secret_bindings(tmp_path):
    plan = render(*GSA)
    plan_cmd.write(plan, tmp_path)
    bindings = json.loads((tmp_path / f"policies/gcp-{plan.stack}-secret-accessors.json").read_text())
    assert len(bindings) == len(catalog.CATALOG)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"gcpProject": "Bad_Project"}, "gcpProject"),
        ({"gcpProject": ""}, "gcpProject"),
        ({"gcpIdentity": "direct"}, "gcpProjectNumber"),
        ({"gcpIdentity": "direct", "gcpProjectNumber": "12ab"}, "gcpProjectNumber"),
        ({"gcpClusterLocation": "mars-north1x"}, "gcpClusterLocation"),
        ({"gcpClusterLocation": ""}, "gcpClusterLocation"),
        ({"gcpIdentity": "keys"}, "gcpIdentity"),
        ({"gcpReplicaLocations": ["nowhere"]}, "gcpReplicaLocations"),
        ({"gcpKmsKeyName": "projects/kms-example/locations/us-east1/keyRings/r/cryptoKeys/k", "gcpReplicaLocations": []}, "gcpKmsKeyName"),
        ({"gcpKmsKeyName": "not-a-key"}, "gcpKmsKeyName"),
    ],
)
def test_bad_gcp_config_names_the_key(changes, key):
    with pytest.raises(ConfigError, match=rf"^aragora-secrets:{key}:"):
        render(*GSA, **changes)

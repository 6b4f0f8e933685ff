"""The Vault backend as the example stacks declare it."""

from __future__ import annotations

import re

import pytest

from components.eso_api import CLUSTER_SECRET_STORE_TYPE, EXTERNAL_SECRET_TYPE
from infra import catalog
from infra.fields import ConfigError
from infra.stackfiles import stack_file
from tests.support import PLANS, plans_of, render, render_named

VAULT_PLANS = plans_of("vault")
ONE = PLANS[VAULT_PLANS[0]]


@pytest.fixture(params=VAULT_PLANS)
def vplan(request):
    return render_named(request.param)


def test_kv_v2_mount_is_protected(vplan):
    mount = vplan.one("vault:index/mount:Mount")
    assert mount["inputs"]["path"] == vplan.setting("vaultKvMount")
    assert mount["inputs"]["type"] == "kv"
    assert mount["inputs"]["options"] == {"version": "2"}
    assert mount["protect"] is True


def test_policy_grants_only_read_on_this_environments_data_paths(vplan):
    policy = vplan.one("vault:index/policy:Policy")["inputs"]
    assert policy["name"] == f"{catalog.CATALOG.app.name}-{vplan.stack}"
    paths = re.findall(r'path "([^"]+)" \{\s*capabilities = \[([^\]]*)\]\s*\}', policy["policy"])
    assert sorted(p for p, _ in paths) == sorted(
        f"secret/data/{catalog.CATALOG.app.name}/{vplan.stack}/{g}" for g in catalog.CATALOG.by_group
    )
    assert {caps for _, caps in paths} == {'"read"'}
    assert "metadata" not in policy["policy"] and "*" not in policy["policy"]


def test_role_binds_exactly_the_eso_service_account_with_audience_and_ttl(vplan):
    role = vplan.one("vault:kubernetes/authBackendRole:AuthBackendRole")["inputs"]
    assert role["roleName"] == f"aragora-{vplan.stack}"
    assert role["backend"] == "kubernetes"
    assert role["boundServiceAccountNames"] == ["external-secrets"]
    assert role["boundServiceAccountNamespaces"] == ["external-secrets"]
    assert role["tokenPolicies"] == [f"aragora-{vplan.stack}"]
    assert role["tokenTtl"] == 3600
    assert role["audience"] == "vault"


def test_kubernetes_auth_method_and_its_config(vplan):
    auth = vplan.one("vault:index/authBackend:AuthBackend")["inputs"]
    assert auth["type"] == "kubernetes" and auth["path"] == "kubernetes"
    config = vplan.one("vault:kubernetes/authBackendConfig:AuthBackendConfig")["inputs"]
    assert config["backend"] == "kubernetes"
    assert config["kubernetesHost"] == "https://kubernetes.default.svc"


def test_store_logs_in_with_the_role_and_the_audience_the_role_requires(vplan):
    store = vplan.one(CLUSTER_SECRET_STORE_TYPE)["inputs"]
    role = vplan.one("vault:kubernetes/authBackendRole:AuthBackendRole")["inputs"]
    assert store["metadata"]["name"] == "vault"
    assert store["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    vault = store["spec"]["provider"]["vault"]
    assert vault["server"] == f"https://vault.{vplan.stack}.example.com:8200"
    assert vault["path"] == "secret" and vault["version"] == "v2"
    k8s_auth = vault["auth"]["kubernetes"]
    assert k8s_auth["mountPath"] == "kubernetes"
    assert k8s_auth["role"] == role["roleName"]
    ref = k8s_auth["serviceAccountRef"]
    assert (ref["name"], ref["namespace"]) == ("external-secrets", "external-secrets")
    assert ref["audiences"][0] == role["audience"] == "vault"


def test_a_token_that_is_also_the_reviewer_carries_the_api_servers_audience():
    """Vault presents ESO's own token to TokenReview in `eso` mode; the API server
    rejects it unless one of its audiences is the server's (vault-secrets-operator#379)."""
    eso = render(*ONE).one(CLUSTER_SECRET_STORE_TYPE)
    ref = eso["inputs"]["spec"]["provider"]["vault"]["auth"]["kubernetes"]["serviceAccountRef"]
    plan = render(*ONE)
    assert ref["audiences"] == [plan.setting("vaultAudience"), plan.setting("vaultKubernetesApiAudience")]
    own = render(*ONE, vaultTokenReviewer="vault").one(CLUSTER_SECRET_STORE_TYPE)
    assert own["inputs"]["spec"]["provider"]["vault"]["auth"]["kubernetes"]["serviceAccountRef"]["audiences"] == ["vault"]


def test_eso_gets_auth_delegator_only_when_its_jwt_is_the_reviewer():
    binding = render(*ONE).one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    assert binding["inputs"]["roleRef"]["name"] == "system:auth-delegator"
    assert binding["inputs"]["subjects"] == [{"kind": "ServiceAccount", "name": "external-secrets", "namespace": "external-secrets"}]
    own = render(*ONE, vaultTokenReviewer="vault")
    assert own.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding") == []


def test_audit_device_is_on_in_the_examples_per_environment_and_never_disabled_by_the_stack(vplan):
    audit = vplan.one("vault:index/audit:Audit")
    assert audit["inputs"]["type"] == vplan.setting("vaultAuditType") == "file"
    assert audit["inputs"]["path"] == f"aragora-{vplan.stack}-file"
    assert audit["inputs"]["options"] == {"file_path": vplan.setting("vaultAuditTarget")}
    assert audit["retain_on_delete"] is True


def test_the_kubernetes_auth_method_is_never_disabled_by_the_stack(vplan):
    assert vplan.one("vault:index/authBackend:AuthBackend")["retain_on_delete"] is True


def test_vault_token_never_comes_from_config(vplan):
    provider = vplan.one("pulumi:providers:vault")["inputs"]
    assert "token" not in provider
    assert provider["address"] == vplan.setting("vaultAddress")


def test_external_secrets_read_the_same_grouped_keys_as_on_aws(vplan, tmp_path):
    aws_stack, aws_file = PLANS[plans_of("aws")[0]]
    # The same environment on AWS: its stack file alone in a directory, so it is compared with nothing.
    alone = tmp_path / f"Pulumi.{vplan.stack}.yaml"
    alone.write_text((aws_file or stack_file(aws_stack)).read_text())
    aws = render(vplan.stack, alone)
    keys = lambda plan: {  # noqa: E731
        d["secretKey"]: d["remoteRef"]
        for r in plan.of_type(EXTERNAL_SECRET_TYPE)
        for d in r["inputs"]["spec"]["data"]
    }
    assert keys(vplan) == keys(aws)
    assert {r["inputs"]["spec"]["secretStoreRef"]["name"] for r in vplan.of_type(EXTERNAL_SECRET_TYPE)} == {"vault"}


def test_vault_stack_declares_no_aws_resources(vplan):
    assert not [r for r in vplan.resources if r["type"].startswith(("aws:", "pulumi:providers:aws"))]
    assert vplan.outputs["vaultMountPath"] == vplan.setting("vaultKvMount")
    assert vplan.outputs["vaultPolicyName"] == vplan.outputs["vaultRoleName"] == f"aragora-{vplan.stack}"
    assert vplan.outputs["storeName"] == "vault"


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"vaultAddress": ""}, "vaultAddress"),
        ({"vaultAddress": "vault.example.com"}, "vaultAddress"),
        ({"vaultAddress": "http://vault.example.com:8200"}, "vaultAddress"),
        ({"vaultKubernetesHost": "http://kubernetes.default.svc"}, "vaultKubernetesHost"),
        ({"vaultAuditTarget": "relative/path.log"}, "vaultAuditTarget"),
        ({"vaultAuditType": "socket", "vaultAuditTarget": "/var/log/x"}, "vaultAuditTarget"),
        ({"vaultKubernetesHost": ""}, "vaultKubernetesHost"),
        ({"vaultKvMount": "/secret/"}, "vaultKvMount"),
        ({"vaultTokenTtl": "10s"}, "vaultTokenTtl"),
        ({"vaultAudience": "*"}, "vaultAudience"),
        ({"vaultAuditType": "syslog"}, "vaultAuditType"),
        ({"vaultTokenReviewer": "nobody"}, "vaultTokenReviewer"),
        ({"vaultKubernetesCaCert": ""}, "vaultKubernetesCaCert"),
        ({"vaultKubernetesCaCert": "not a certificate"}, "vaultKubernetesCaCert"),
        ({"vaultTokenBoundCidrs": ["10.0.0.1/8"]}, "vaultTokenBoundCidrs"),
        ({"vaultTokenBoundCidrs": ["everywhere"]}, "vaultTokenBoundCidrs"),
    ],
)
def test_bad_vault_config_names_the_key(changes, key):
    with pytest.raises(ConfigError, match=rf"^aragora-secrets:{key}:"):
        render(*ONE, **changes)

"""VaultBackend built alone from explicit arguments: mount, policy, auth role, reviewer binding, audit."""

from __future__ import annotations

import re

import pytest

from components.service_account import ServiceAccount
from components.vault.backend import VaultBackend, VaultBackendArgs
from tests.unit.harness import declare

BASE = {
    "policy_name": "app-unit",
    "subject": "App unit",
    "kv_mount": "kv-unit",
    "auth_mount": "k8s-unit",
    "kubernetes_host": "https://api.example:6443",
    "kubernetes_ca_cert": "-----BEGIN CERTIFICATE-----\nMIIBunit\n-----END CERTIFICATE-----\n",
    "reviewed_with_eso_token": True,
    "token_ttl_seconds": 900,
    "audience": "aud-x",
    "audit_type": "socket",
    "audit_target": "audit.example:9090",
    "audit_path": "app-unit-socket",
    "secret_paths": ["app/unit/a", "app/unit/b"],
    "eso": ServiceAccount("ns-x", "sa-y"),
    "labels": {"l": "v"},
}


def _plan(**changes):
    return declare(lambda: VaultBackend("v", VaultBackendArgs(**{**BASE, **changes})))


def test_policy_reads_exactly_the_given_paths_under_the_mount_data_prefix():
    hcl = _plan().one("vault:index/policy:Policy")["inputs"]["policy"]
    assert re.findall(r'path "([^"]+)"', hcl) == ["kv-unit/data/app/unit/a", "kv-unit/data/app/unit/b"]
    assert set(re.findall(r"capabilities = \[([^\]]*)\]", hcl)) == {'"read"'}


def test_role_binds_the_given_service_account_with_the_given_ttl_and_audience():
    plan = _plan()
    role = plan.one("vault:kubernetes/authBackendRole:AuthBackendRole")["inputs"]
    assert (role["roleName"], role["audience"], role["tokenTtl"], role["tokenMaxTtl"]) == ("app-unit", "aud-x", 900, 900)
    assert role["boundServiceAccountNames"] == ["sa-y"] and role["boundServiceAccountNamespaces"] == ["ns-x"]
    assert plan.one("vault:index/authBackend:AuthBackend")["inputs"]["path"] == "k8s-unit"
    binding = plan.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")["inputs"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "sa-y", "namespace": "ns-x"}]
    assert binding["metadata"]["labels"] == {"l": "v"}


def test_a_socket_audit_device_gets_its_address_and_none_declares_no_device():
    audit = _plan().one("vault:index/audit:Audit")
    assert audit["inputs"]["type"] == "socket" and audit["inputs"]["options"] == {"address": "audit.example:9090"}
    assert audit["retain_on_delete"] is True and audit["inputs"]["path"] == "app-unit-socket"
    assert _plan(audit_type=None, audit_target=None, audit_path=None).of_type("vault:index/audit:Audit") == []


@pytest.mark.parametrize("audit", [{"audit_type": "syslog"}, {"audit_target": None}, {"audit_path": None}])
def test_an_incomplete_or_unknown_audit_device_is_refused(audit):
    with pytest.raises(ValueError, match="audit device"):
        VaultBackendArgs(**{**BASE, **audit})


def test_an_adopted_kv_mount_is_not_declared_but_the_policy_still_points_at_it():
    plan = _plan(adopt_kv_mount=True)
    assert plan.of_type("vault:index/mount:Mount") == [] and plan.of_type("vault:kv/secretBackendV2:SecretBackendV2") == []
    assert 'path "kv-unit/data/app/unit/a"' in plan.one("vault:index/policy:Policy")["inputs"]["policy"]


def test_an_owned_kv_mount_is_protected_and_keeps_the_given_versions():
    plan = _plan(kv_max_versions=7, kv_delete_version_after_seconds=0)
    assert plan.one("vault:index/mount:Mount")["protect"] is True
    settings = plan.one("vault:kv/secretBackendV2:SecretBackendV2")["inputs"]
    assert settings["maxVersions"] == 7 and settings["casRequired"] is True


def test_with_vaults_own_reviewer_no_auth_delegator_binding_is_declared():
    assert _plan(reviewed_with_eso_token=False).of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding") == []


def test_outside_the_cluster_vault_never_falls_back_to_a_pods_ca_and_token():
    config = _plan().one("vault:kubernetes/authBackendConfig:AuthBackendConfig")["inputs"]
    assert config["disableLocalCaJwt"] is True and config["kubernetesCaCert"].startswith("-----BEGIN CERTIFICATE-----")
    in_cluster = _plan(reviewed_with_eso_token=False, kubernetes_ca_cert=None).one("vault:kubernetes/authBackendConfig:AuthBackendConfig")["inputs"]
    assert in_cluster["disableLocalCaJwt"] is False


def test_token_bound_cidrs_reach_the_role_and_none_leaves_it_unbound():
    role = _plan(token_bound_cidrs=["10.0.0.0/16", "fd00::/8"]).one("vault:kubernetes/authBackendRole:AuthBackendRole")["inputs"]
    assert role["tokenBoundCidrs"] == ["10.0.0.0/16", "fd00::/8"]
    assert "tokenBoundCidrs" not in _plan().one("vault:kubernetes/authBackendRole:AuthBackendRole")["inputs"]

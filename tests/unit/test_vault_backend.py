"""VaultBackend built alone from known settings: mount, policy, auth role, reviewer binding, audit."""

from __future__ import annotations

import re

from infra.backends.vault.settings import VaultSettings
from infra.backends.vault.vault_backend import VaultBackend, VaultBackendArgs
from infra.components.eso import ServiceAccount
from stacktools.recorder import declare
from tests.support import settings

BASE = {
    "vaultAddress": "https://v.example:8200",
    "vaultKvMount": "kv-unit",
    "vaultAuthMount": "k8s-unit",
    "vaultKubernetesHost": "https://api.example:6443",
    "vaultKubernetesCaCert": "-----BEGIN CERTIFICATE-----\nMIIBunit\n-----END CERTIFICATE-----\n",
    "vaultTokenReviewer": "eso",
    "vaultTokenTtl": "15m",
    "vaultAudience": "aud-x",
    "vaultKubernetesApiAudience": "https://api.example",
    "vaultAuditType": "socket",
    "vaultAuditTarget": "audit.example:9090",
}


def _plan(**changes):
    vault_settings = settings(VaultSettings, **{**BASE, **changes})
    return declare(
        lambda: VaultBackend(
            "v", VaultBackendArgs(environment="unit", settings=vault_settings, secret_paths=["aragora/unit/a", "aragora/unit/b"], eso=ServiceAccount("ns-x", "sa-y"))
        )
    )


def test_policy_reads_exactly_the_given_paths_under_the_mount_data_prefix():
    hcl = _plan().one("vault:index/policy:Policy")["inputs"]["policy"]
    assert re.findall(r'path "([^"]+)"', hcl) == ["kv-unit/data/aragora/unit/a", "kv-unit/data/aragora/unit/b"]
    assert set(re.findall(r"capabilities = \[([^\]]*)\]", hcl)) == {'"read"'}


def test_role_binds_the_given_service_account_with_the_settings_ttl_and_audience():
    plan = _plan()
    role = plan.one("vault:kubernetes/authBackendRole:AuthBackendRole")["inputs"]
    assert (role["roleName"], role["audience"], role["tokenTtl"], role["tokenMaxTtl"]) == ("aragora-unit", "aud-x", 900, 900)
    assert role["boundServiceAccountNames"] == ["sa-y"] and role["boundServiceAccountNamespaces"] == ["ns-x"]
    assert plan.one("vault:index/authBackend:AuthBackend")["inputs"]["path"] == "k8s-unit"
    binding = plan.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")["inputs"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "sa-y", "namespace": "ns-x"}]


def test_a_socket_audit_device_gets_its_address_and_none_declares_no_device():
    audit = _plan().one("vault:index/audit:Audit")
    assert audit["inputs"]["type"] == "socket" and audit["inputs"]["options"] == {"address": "audit.example:9090"}
    assert audit["retain_on_delete"] is True and audit["inputs"]["path"] == "aragora-unit-socket"
    assert _plan(vaultAuditType="none", vaultAuditTarget="").of_type("vault:index/audit:Audit") == []


def test_an_adopted_kv_mount_is_not_declared_but_the_policy_still_points_at_it():
    plan = _plan(vaultAdoptKvMount="true")
    assert plan.of_type("vault:index/mount:Mount") == []
    assert 'path "kv-unit/data/aragora/unit/a"' in plan.one("vault:index/policy:Policy")["inputs"]["policy"]


def test_with_vaults_own_reviewer_no_auth_delegator_binding_is_declared():
    assert _plan(vaultTokenReviewer="vault").of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding") == []


def test_outside_the_cluster_vault_never_falls_back_to_a_pods_ca_and_token():
    config = _plan().one("vault:kubernetes/authBackendConfig:AuthBackendConfig")["inputs"]
    assert config["disableLocalCaJwt"] is True and config["kubernetesCaCert"].startswith("-----BEGIN CERTIFICATE-----")
    in_cluster = _plan(vaultTokenReviewer="vault", vaultKubernetesCaCert="").one("vault:kubernetes/authBackendConfig:AuthBackendConfig")["inputs"]
    assert in_cluster["disableLocalCaJwt"] is False


def test_token_bound_cidrs_reach_the_role_and_none_leaves_it_unbound():
    role = _plan(vaultTokenBoundCidrs=["10.0.0.0/16", "fd00::/8"]).one("vault:kubernetes/authBackendRole:AuthBackendRole")["inputs"]
    assert role["tokenBoundCidrs"] == ["10.0.0.0/16", "fd00::/8"]
    assert "tokenBoundCidrs" not in _plan().one("vault:kubernetes/authBackendRole:AuthBackendRole")["inputs"]

"""The ESO Helm release: pinned, CRDs kept on uninstall, as available as each stack asks."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.support import ANY_STACK, PLANS, ROOT, plans_of, render

RELEASE = "kubernetes:helm.sh/v3:Release"


def test_chart_is_pinned_to_an_exact_2x_version_from_the_official_repo(stack_plan):
    release = stack_plan.one(RELEASE)["inputs"]
    assert release["chart"] == "external-secrets"
    assert release["repositoryOpts"] == {"repo": "https://charts.external-secrets.io"}
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", release["version"])
    assert match and (int(match[1]), int(match[2])) >= (2, 9)
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]["esoChartVersion"]["default"]
    assert release["version"] == declared


def test_crds_are_installed_and_kept_when_the_release_is_uninstalled(stack_plan):
    values = stack_plan.one(RELEASE)["inputs"]["values"]
    assert values["installCRDs"] is True
    assert values["crds"]["annotations"] == {"helm.sh/resource-policy": "keep"}


def test_release_and_operator_namespace_are_protected(stack_plan):
    assert stack_plan.one(RELEASE)["protect"] is True
    ns = [r for r in stack_plan.of_type("kubernetes:core/v1:Namespace") if r["inputs"]["metadata"]["name"] == "external-secrets"]
    assert len(ns) == 1 and ns[0]["protect"] is True


def test_release_installs_into_external_secrets_with_the_named_service_account(stack_plan):
    release = stack_plan.one(RELEASE)["inputs"]
    assert release["namespace"] == "external-secrets"
    assert release["name"] == "external-secrets"
    assert release["values"]["serviceAccount"]["create"] is True
    assert release["values"]["serviceAccount"]["name"] == "external-secrets"


def test_replicas_follow_config_with_leader_election_and_pdbs_exactly_when_more_than_one(stack_plan):
    replicas = int(stack_plan.setting("esoReplicas"))
    values = stack_plan.one(RELEASE)["inputs"]["values"]
    ha = replicas > 1
    assert values["replicaCount"] == values["webhook"]["replicaCount"] == replicas
    assert values["leaderElect"] is ha
    assert values["podDisruptionBudget"] == values["webhook"]["podDisruptionBudget"] == {"enabled": ha, "minAvailable": 1}


@pytest.mark.parametrize("replicas", [1, 2, 5])
def test_any_replica_count_in_range_is_rendered_verbatim(replicas):
    values = render(ANY_STACK, esoReplicas=replicas).one(RELEASE)["inputs"]["values"]
    assert values["replicaCount"] == replicas and values["leaderElect"] is (replicas > 1)


def test_every_eso_container_has_requests_and_limits(stack_plan):
    values = stack_plan.one(RELEASE)["inputs"]["values"]
    for block in (values, values["webhook"], values["certController"]):
        assert set(block["resources"]) == {"requests", "limits"}
        assert block["resources"]["requests"]["memory"] and block["resources"]["limits"]["memory"]


def test_release_waits_for_the_operator_to_be_ready(stack_plan):
    release = stack_plan.one(RELEASE)["inputs"]
    assert release.get("skipAwait") is False


def test_chart_version_override_is_used_verbatim():
    assert render(ANY_STACK, esoChartVersion="2.10.1").one(RELEASE)["inputs"]["version"] == "2.10.1"


# --- hardening -----------------------------------------------------------------------


def _values(plan) -> dict:
    return plan.one(RELEASE)["inputs"]["values"]


@pytest.mark.parametrize(
    "switch",
    ["processSecretStore", "processClusterExternalSecret", "processPushSecret", "processClusterPushSecret", "processClusterGenerator"],
)
def test_every_reconciler_the_stack_does_not_use_is_off(stack_plan, switch):
    assert _values(stack_plan)[switch] is False


def test_the_cluster_store_reconciler_the_stack_uses_stays_on(stack_plan):
    assert _values(stack_plan)["processClusterStore"] is True


def _ports(rule: dict) -> set[tuple[str, int]]:
    return {(p["protocol"], p["port"]) for p in rule["ports"]}


@pytest.mark.parametrize("component", ["controller", "webhook", "certController"])
def test_each_eso_deployment_has_a_network_policy_scraped_only_from_the_monitoring_namespace(stack_plan, component):
    values = _values(stack_plan)
    policy = values["networkPolicy"] if component == "controller" else values[component]["networkPolicy"]
    assert policy["enabled"] is True
    scrape = [r for r in policy["ingress"] if ("TCP", 8080) in _ports(r)]
    assert len(scrape) == 1 and _ports(scrape[0]) == {("TCP", 8080)}
    monitoring = stack_plan.setting("esoMonitoringNamespace")
    assert scrape[0]["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": monitoring}}}]
    # Every other ingress rule opens health or webhook ports only.
    opened = set().union(*(_ports(r) for r in policy["ingress"] if r is not scrape[0]))
    assert opened <= {("TCP", 8081), ("TCP", 8082), ("TCP", 10250)}
    assert ("TCP", 10250) in opened if component == "webhook" else ("TCP", 10250) not in opened


@pytest.mark.parametrize("component", ["webhook", "certController"])
def test_webhook_and_cert_controller_reach_only_dns_and_the_api_server(stack_plan, component):
    egress = _values(stack_plan)[component]["networkPolicy"]["egress"]
    assert set().union(*(_ports(r) for r in egress)) == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 6443)}
    assert all("to" not in r for r in egress)


def test_the_controller_reaches_dns_the_api_server_and_the_backend_port_only():
    vault = render(*PLANS[plans_of("vault")[0]])
    egress = _values(vault)["networkPolicy"]["egress"]
    port = int(vault.setting("vaultAddress").rsplit(":", 1)[1])
    assert set().union(*(_ports(r) for r in egress)) == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 6443), ("TCP", port)}


def test_the_monitoring_namespace_is_configurable():
    values = _values(render(ANY_STACK, esoMonitoringNamespace="observability"))
    assert values["networkPolicy"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "observability"
    }


def test_the_operator_namespace_keeps_pod_security_restricted(stack_plan):
    ns = [r for r in stack_plan.of_type("kubernetes:core/v1:Namespace") if r["inputs"]["metadata"]["name"] == "external-secrets"]
    assert ns[0]["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"

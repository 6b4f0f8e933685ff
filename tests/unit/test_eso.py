"""ExternalSecretsOperator built alone: namespace and Helm release from known args."""

from __future__ import annotations

from components.eso import ExternalSecretsOperator, ExternalSecretsOperatorArgs
from tests.unit.harness import declare


def _plan(replicas: int, **more):
    args = ExternalSecretsOperatorArgs(chart_version="2.7.1", replicas=replicas, service_account_annotations={"k": "v"}, **more)
    return declare(lambda: ExternalSecretsOperator("op", args))


def test_release_pins_the_given_chart_and_carries_the_service_account_annotations():
    release = _plan(1).one("kubernetes:helm.sh/v3:Release")
    assert release["name"] == "op-release" and release["protect"] is True
    inputs = release["inputs"]
    assert (inputs["chart"], inputs["version"], inputs["namespace"]) == ("external-secrets", "2.7.1", "external-secrets")
    assert inputs["values"]["serviceAccount"] == {"create": True, "name": "external-secrets", "annotations": {"k": "v"}}
    assert inputs["values"]["crds"]["annotations"] == {"helm.sh/resource-policy": "keep"}


def test_three_replicas_turn_on_leader_election_and_disruption_budgets():
    values = _plan(3).one("kubernetes:helm.sh/v3:Release")["inputs"]["values"]
    assert values["replicaCount"] == values["webhook"]["replicaCount"] == 3
    assert values["leaderElect"] is True and values["podDisruptionBudget"]["enabled"] is True


def test_namespace_is_protected_restricted_and_the_parent_of_nothing_else():
    plan = _plan(1)
    ns = plan.one("kubernetes:core/v1:Namespace")
    assert ns["protect"] is True
    assert ns["inputs"]["metadata"]["labels"] == {"pod-security.kubernetes.io/enforce": "restricted"}
    component = plan.one("aragora:eso:ExternalSecretsOperator")
    assert {r["parent"] for r in plan.resources if r["custom"]} == {component["urn"]}


def test_monitoring_switches_and_the_scraping_namespace_reach_the_values():
    values = _plan(1, service_monitor=True, grafana_dashboard=True, monitoring_namespace="obs-x").one("kubernetes:helm.sh/v3:Release")["inputs"]["values"]
    assert values["serviceMonitor"] == {"enabled": True, "renderMode": "failIfMissing"}
    assert values["grafanaDashboard"] == {"enabled": True}
    scrape = values["networkPolicy"]["ingress"][0]["from"]
    assert scrape == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "obs-x"}}}]

"""SyncAlerts built alone: one PrometheusRule whose alerts name exactly the given secrets and store."""

from __future__ import annotations

from components.sync_alerts import SyncAlerts, SyncAlertsArgs
from tests.unit.harness import declare

ARGS = SyncAlertsArgs(
    rule_name="rule-z", alert_prefix="Acme", namespace="mon-x", app_namespace="app-x", required_secrets=["req-a", "req-b"], optional_secrets=["opt-c"],
    store_name="store-y", periodic_secrets=["req-a", "opt-c"], stall_window="14m", runbook_url="https://docs.example/README.md", labels={"team": "t1"}, rule_labels={"release": "kps"},
)


def test_the_rule_lives_where_told_and_every_alert_names_the_given_objects():
    rule = declare(lambda: SyncAlerts("al", ARGS)).one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")["inputs"]
    assert rule["metadata"]["namespace"] == "mon-x" and rule["metadata"]["labels"] == {"release": "kps"}
    assert rule["metadata"]["name"] == "rule-z" and rule["spec"]["groups"][0]["name"] == "rule-z"
    alerts = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert 'name=~"req-a|req-b"' in alerts["AcmeSecretsNotSynced"]["expr"] and 'namespace="app-x"' in alerts["AcmeSecretsNotSynced"]["expr"]
    assert 'name=~"opt-c"' in alerts["AcmeOptionalSecretsNotSynced"]["expr"]
    assert 'name="store-y"' in alerts["AcmeStoreNotReady"]["expr"]
    assert {a: r["labels"]["severity"] for a, r in alerts.items()} == {
        "AcmeSecretsNotSynced": "critical", "AcmeOptionalSecretsNotSynced": "warning", "AcmeStoreNotReady": "critical",
        "ExternalSecretsWebhookFailing": "critical", "AcmeSecretSyncErrors": "warning",
        "AcmeSecretSyncStalled": "warning", "AcmeProviderCallsFailing": "warning",
    }
    stalled = alerts["AcmeSecretSyncStalled"]["expr"]
    assert 'name=~"req-a|opt-c"' in stalled and "[14m]" in stalled and "offset 14m" in stalled
    assert all(r["labels"]["team"] == "t1" and r["annotations"]["runbook_url"].startswith("https://docs.example/README.md#alert-") for r in alerts.values())


def test_without_optional_secrets_there_is_no_optional_alert():
    args = SyncAlertsArgs(**{**ARGS.__dict__, "optional_secrets": []})
    rule = declare(lambda: SyncAlerts("al", args)).one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")["inputs"]
    assert "AcmeOptionalSecretsNotSynced" not in {r["alert"] for r in rule["spec"]["groups"][0]["rules"]}


def test_without_periodic_secrets_there_is_no_stall_alert():
    args = SyncAlertsArgs(**{**ARGS.__dict__, "periodic_secrets": []})
    rule = declare(lambda: SyncAlerts("al", args)).one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")["inputs"]
    assert "AcmeSecretSyncStalled" not in {r["alert"] for r in rule["spec"]["groups"][0]["rules"]}

"""SyncAlerts built alone: one PrometheusRule whose alerts name exactly the given secrets and store."""

from __future__ import annotations

import pytest

from components.sync_alerts import SyncAlerts, SyncAlertsArgs
from tests.unit.harness import declare

ARGS = SyncAlertsArgs(
    rule_name="rule-z", alert_prefix="Acme", namespace="mon-x", app_namespace="app-x", required_secrets=["req-a", "req-b"], optional_secrets=["opt-c"],
    store_name="store-y", periodic_secrets=["req-a", "opt-c"], stall_window="14m", runbook_url="https://docs.example/README.md", labels={"team": "t1"}, rule_labels={"release": "kps"},
    eso_namespace="eso-ns", controller_job="ctl-job", webhook_job="wh-job", webhooks=["v.one.example.io", "v.two.example.io"],
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
        "ExternalSecretsControllerDown": "critical", "ExternalSecretsWebhookDown": "critical",
        "AcmeSecretsNotReported": "critical", "AcmeSecretsFlapping": "critical",
    }
    assert alerts["ExternalSecretsControllerDown"]["expr"] == 'absent(up{job="ctl-job",namespace="eso-ns"} == 1)'
    assert alerts["ExternalSecretsWebhookDown"]["expr"] == 'absent(up{job="wh-job",namespace="eso-ns"} == 1)'
    failing = alerts["ExternalSecretsWebhookFailing"]["expr"]
    assert failing.count('name=~"v\\\\.one\\\\.example\\\\.io|v\\\\.two\\\\.example\\\\.io"') == 3 and "controller_runtime" not in failing
    reported = alerts["AcmeSecretsNotReported"]["expr"]
    assert 'name="req-a"' in reported and 'name="req-b"' in reported and "opt-c" not in reported
    assert 'name=~"req-a|req-b"' in alerts["AcmeSecretsFlapping"]["expr"]
    # ESO's own namespace label is the scrape target's: the app's namespace is selected as Prometheus renamed it.
    assert all('namespace="app-x"' not in r["expr"].replace('exported_namespace="app-x"', "") for r in alerts.values())
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


def test_without_required_secrets_there_is_no_unreported_or_flapping_alert():
    args = SyncAlertsArgs(**{**ARGS.__dict__, "required_secrets": []})
    rule = declare(lambda: SyncAlerts("al", args)).one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")["inputs"]
    names = {r["alert"] for r in rule["spec"]["groups"][0]["rules"]}
    assert not names & {"AcmeSecretsNotReported", "AcmeSecretsFlapping"} and "ExternalSecretsControllerDown" in names


def test_no_webhook_names_is_refused_rather_than_an_alert_that_selects_nothing():
    with pytest.raises(ValueError, match=r"^SyncAlertsArgs\.webhooks: "):
        SyncAlertsArgs(**{**ARGS.__dict__, "webhooks": []})

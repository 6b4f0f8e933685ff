"""The sync alerts, checked and unit-tested by the real promtool on the rule the plan renders.

For each alert, synthetic series where it must fire (after its `for`) and the
healthy case where nothing fires. promtool comes from Debian's `prometheus`
package; `make test` installs it when missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from tests.support import ROOT, STACKS, configured, render

PROMTOOL = shutil.which("promtool")
ALERTING = [s for s in STACKS if configured(s, "prometheusOperator") == "true"]


def _rule(stack: str) -> dict:
    return render(stack).one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")["inputs"]


def _promtool(*args: str, cwd) -> subprocess.CompletedProcess:
    assert PROMTOOL, "promtool missing: `make test` installs Debian's prometheus package"
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_a_shipped_stack_deploys_the_alerts_and_the_others_do_not_fail_for_want_of_the_operator():
    assert ALERTING, "no shipped stack turns the alerts on"
    for stack in STACKS:
        plan = render(stack)
        on = plan.setting("prometheusOperator") == "true"
        assert bool(plan.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")) is on
        monitor = plan.one("kubernetes:helm.sh/v3:Release")["inputs"]["values"]["serviceMonitor"]
        assert monitor == {"enabled": on, "renderMode": "failIfMissing"}


@pytest.mark.parametrize("stack", ALERTING)
def test_promtool_accepts_the_rendered_rules(stack, tmp_path):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(_rule(stack)["spec"]))
    result = _promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def _expected(rule: dict, alert: str, labels: dict) -> dict:
    """The alert as Prometheus would send it: our labels, the rule's labels, its annotations with labels filled in."""
    (r,) = [r for r in rule["spec"]["groups"][0]["rules"] if r["alert"] == alert]
    annotations = {k: re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m[1]], v) for k, v in r["annotations"].items()}
    return {"exp_labels": {**labels, **r["labels"]}, "exp_annotations": annotations}


@pytest.mark.parametrize("stack", ALERTING)
def test_each_alert_fires_when_it_should_and_the_healthy_case_is_quiet(stack, tmp_path):
    plan = render(stack)
    rule = _rule(stack)
    store = plan.outputs["storeName"]
    ready = 'condition="Ready",status="False"'
    es = 'externalsecret_status_condition{{namespace="aragora",name="{}",' + ready + "}}"
    series = [
        # Healthy: every ExternalSecret and the store Ready; no sync error, no webhook error.
        {"series": es.format("healthy"), "values": "0x60"},
        # Failing from the start.
        {"series": es.format("aragora-secrets"), "values": "1x60"},
        {"series": es.format("aragora-secrets-optional"), "values": "1x60"},
        {"series": f'clustersecretstore_status_condition{{name="{store}",{ready}}}', "values": "1x60"},
        {"series": 'externalsecret_sync_calls_error{namespace="aragora",name="aragora-secrets-session"}', "values": "0+1x60"},
        {"series": 'controller_runtime_webhook_requests_total{service="external-secrets-webhook",code="500"}', "values": "0+1x60"},
    ]
    required = {"namespace": "aragora", "name": "aragora-secrets"}
    optional = {"namespace": "aragora", "name": "aragora-secrets-optional"}
    tests = [
        # Not yet: every alert waits out its `for`.
        {"eval_time": "4m", "alertname": name, "exp_alerts": []}
        for name in ("AragoraSecretsNotSynced", "AragoraStoreNotReady", "ExternalSecretsWebhookFailing", "AragoraOptionalSecretsNotSynced")
    ] + [
        {"eval_time": "15m", "alertname": "AragoraSecretsNotSynced", "exp_alerts": [_expected(rule, "AragoraSecretsNotSynced", required)]},
        {"eval_time": "15m", "alertname": "AragoraOptionalSecretsNotSynced", "exp_alerts": []},
        {"eval_time": "45m", "alertname": "AragoraOptionalSecretsNotSynced", "exp_alerts": [_expected(rule, "AragoraOptionalSecretsNotSynced", optional)]},
        {"eval_time": "10m", "alertname": "AragoraStoreNotReady", "exp_alerts": [_expected(rule, "AragoraStoreNotReady", {"name": store})]},
        {"eval_time": "40m", "alertname": "AragoraSecretSyncErrors", "exp_alerts": [
            _expected(rule, "AragoraSecretSyncErrors", {"namespace": "aragora", "name": "aragora-secrets-session"})
        ]},
        {"eval_time": "15m", "alertname": "ExternalSecretsWebhookFailing", "exp_alerts": [_expected(rule, "ExternalSecretsWebhookFailing", {})]},
    ]
    healthy = [
        {"series": es.format("aragora-secrets"), "values": "0x60"},
        {"series": f'clustersecretstore_status_condition{{name="{store}",{ready}}}', "values": "0x60"},
        {"series": 'externalsecret_sync_calls_error{namespace="aragora",name="aragora-secrets"}', "values": "5x60"},
        {"series": 'controller_runtime_webhook_requests_total{service="external-secrets-webhook",code="500"}', "values": "3x60"},
    ]
    quiet = [{"eval_time": "60m", "alertname": r["alert"], "exp_alerts": []} for r in rule["spec"]["groups"][0]["rules"]]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {"interval": "1m", "input_series": series, "alert_rule_test": tests},
            {"interval": "1m", "input_series": healthy, "alert_rule_test": quiet},
        ],
    }))
    result = _promtool("test", "rules", "test.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def _slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("stack", ALERTING)
def test_every_alert_links_a_readme_section_that_exists(stack):
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(), flags=re.M)}
    for r in _rule(stack)["spec"]["groups"][0]["rules"]:
        url = r["annotations"]["runbook_url"]
        assert url.split("#", 1)[1] in anchors, url
        assert r["labels"]["severity"] in ("critical", "warning") and r["labels"]["team"] == "platform"

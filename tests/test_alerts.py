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

from components.eso_api import EXTERNAL_SECRET_TYPE
from infra.durations import go_duration_seconds
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


def _promtool_tests(tmp_path, rule: dict, groups: list[dict]) -> None:
    """``promtool test rules`` of the rendered rule, each group its own input series at a 1m interval."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", **g} for g in groups],
    }))
    result = _promtool("test", "rules", "test.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


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


def _external_secrets(plan) -> dict[str, dict]:
    return {r["inputs"]["metadata"]["name"]: r["inputs"] for r in plan.of_type(EXTERNAL_SECRET_TYPE)}


def _minutes(duration: str) -> int:
    seconds = go_duration_seconds(duration)
    assert seconds is not None and seconds % 60 == 0, duration
    return int(seconds // 60)


# Every stack, alerts on: the stall window follows each stack's own refreshInterval.
@pytest.mark.parametrize("stack", STACKS)
def test_a_periodic_external_secret_that_stops_syncing_alerts_after_twice_its_interval(stack, tmp_path):
    plan = render(stack, prometheusOperator=True)
    rule = plan.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")["inputs"]
    external = _external_secrets(plan)
    periodic = sorted(n for n, es in external.items() if es["spec"].get("refreshPolicy", "Periodic") == "Periodic")
    on_change = sorted(set(external) - set(periodic))
    namespace = next(iter(external.values()))["metadata"]["namespace"]
    (interval,) = {_minutes(es["spec"]["refreshInterval"]) for es in external.values()}
    window, run = 2 * interval, 8 * interval + 30
    (alert,) = [r["alert"] for r in rule["spec"]["groups"][0]["rules"] if r["alert"].endswith("SecretSyncStalled")]

    def syncs(name: str, *, until: int | None = None, start: int = 0) -> dict:
        """One sync at creation, then one per interval, up to minute ``until`` (then silence)."""
        values = [f"_x{start}"] if start else []
        count, points = 0, []
        for minute in range(start, run + 1):
            if minute == start or ((minute - start) % interval == 0 and (until is None or minute <= until)):
                count += 1
            points.append(str(count))
        return {"series": f'externalsecret_sync_calls_total{{namespace="{namespace}",name="{name}"}}', "values": " ".join(values + points)}

    def ready(name: str) -> dict:
        return {"series": f'externalsecret_status_condition{{namespace="{namespace}",name="{name}",condition="Ready",status="True"}}', "values": f"1x{run}"}

    stop = 3 * interval
    stalled = periodic[0]
    groups = [
        # Stops syncing at `stop`, still Ready: quiet within the window, firing after window + `for`.
        {"input_series": [syncs(stalled, until=stop), ready(stalled)], "alert_rule_test": [
            {"eval_time": f"{stop + window - 2}m", "alertname": alert, "exp_alerts": []},
            {"eval_time": f"{stop + window + 7}m", "alertname": alert,
             "exp_alerts": [_expected(rule, alert, {"namespace": namespace, "name": stalled})]},
        ]},
        # Every periodic one keeps syncing: quiet throughout.
        {"input_series": [s for n in periodic for s in (syncs(n), ready(n))], "alert_rule_test": [
            {"eval_time": f"{m}m", "alertname": alert, "exp_alerts": []} for m in (window + 10, run - 1)
        ]},
        # Created late: one sync, then the first refresh an interval later; no counter a window ago, no alert.
        {"input_series": [syncs(stalled, start=stop), ready(stalled)], "alert_rule_test": [
            {"eval_time": f"{stop + interval - 1}m", "alertname": alert, "exp_alerts": []},
        ]},
        # Gone: the counter stops with its object (no condition series), no alert for what was deleted.
        {"input_series": [syncs(stalled, until=stop)], "alert_rule_test": [
            {"eval_time": f"{stop + window + 7}m", "alertname": alert, "exp_alerts": []},
        ]},
    ]
    if on_change:
        # OnChange ones sync only on a spec change: a flat counter is their normal state.
        groups.append({"input_series": [s for n in on_change for s in (syncs(n, until=1), ready(n))], "alert_rule_test": [
            {"eval_time": f"{run - 1}m", "alertname": alert, "exp_alerts": []},
        ]})
    _promtool_tests(tmp_path, rule, groups)


@pytest.mark.parametrize("stack", ALERTING)
def test_failing_provider_calls_alert_while_the_last_value_is_still_served_and_successes_are_quiet(stack, tmp_path):
    rule = _rule(stack)
    (alert,) = [r["alert"] for r in rule["spec"]["groups"][0]["rules"] if r["alert"].endswith("ProviderCallsFailing")]
    calls = 'externalsecret_provider_api_calls_count{{provider="P",call="GetSecretValue",status="{}"}}'
    labels = {"provider": "P", "call": "GetSecretValue"}
    groups = [
        {"input_series": [{"series": calls.format("error"), "values": "0+1x60"}], "alert_rule_test": [
            {"eval_time": "8m", "alertname": alert, "exp_alerts": []},
            {"eval_time": "20m", "alertname": alert, "exp_alerts": [_expected(rule, alert, labels)]},
        ]},
        # Successes rise, errors stay where an old incident left them: quiet.
        {"input_series": [{"series": calls.format("success"), "values": "0+5x60"}, {"series": calls.format("error"), "values": "7x60"}],
         "alert_rule_test": [{"eval_time": "50m", "alertname": alert, "exp_alerts": []}]},
        # A brief burst (under the `for`) is not an incident.
        {"input_series": [{"series": calls.format("error"), "values": "0 1 2 2x57"}],
         "alert_rule_test": [{"eval_time": f"{m}m", "alertname": alert, "exp_alerts": []} for m in (5, 12, 30)]},
    ]
    _promtool_tests(tmp_path, rule, groups)


def _slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("stack", ALERTING)
def test_every_alert_links_a_readme_section_that_exists(stack):
    for r in _rule(stack)["spec"]["groups"][0]["rules"]:
        url = r["annotations"]["runbook_url"]
        page, _, anchor = url.partition("#")
        assert (ROOT / page).is_file(), url  # the shipped default is the runbook's path in this repository
        anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", (ROOT / page).read_text(), flags=re.M)}
        assert anchor in anchors, url
        assert r["labels"]["severity"] in ("critical", "warning") and r["labels"]["team"] == "platform"

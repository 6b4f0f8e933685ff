"""The sync alerts, checked and unit-tested by the real promtool on the rule the plan renders.

For each alert, synthetic series where it must fire (after its `for`) and the
healthy case where nothing fires, labelled as users' Prometheus stores them:
the Prometheus Operator gives each target of the chart's ServiceMonitors
``job``/``service`` (the Service's name), ``namespace`` (ESO's), ``pod``,
``endpoint``, ``instance`` and ``container``, and with ``honorLabels: false``
(the chart's default, which this project keeps) an exposed label that clashes
becomes ``exported_<name>``. promtool comes from Debian's `prometheus`
package; `make test` installs it when missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from components.eso_api import EXTERNAL_SECRET_TYPE
from infra.catalog import CATALOG
from infra.durations import go_duration_seconds
from tests.support import ROOT, STACKS, configured, render

PROMTOOL = shutil.which("promtool")
ALERTING = [s for s in STACKS if configured(s, "prometheusOperator") == "true"]


# ESO 2.9's validating webhooks (deploy/charts/external-secrets/templates/validatingwebhook.yaml
# at helm-chart-2.9.0, lines 19, 36, 70): the `name` of the API server's admission metrics.
ESO_WEBHOOKS = (
    "validate.secretstore.external-secrets.io",
    "validate.clustersecretstore.external-secrets.io",
    "validate.externalsecret.external-secrets.io",
)


def _targets(plan) -> dict[str, dict[str, str]]:
    """The target labels of the controller's and the webhook's pods, from the release the plan deploys.

    The chart's fullname is the release name when that contains the chart's name
    (else ``<release>-<chart>``); its Services are ``<fullname>-metrics`` and
    ``<fullname>-webhook``; the Prometheus Operator names the job after the Service."""
    namespace = plan.outputs["esoNamespace"]
    releases = plan.of_type("kubernetes:helm.sh/v3:Release")
    release, chart = (releases[0]["inputs"]["name"], releases[0]["inputs"]["chart"]) if releases else ("external-secrets", "external-secrets")
    fullname = release if chart in release else f"{release}-{chart}"
    return {
        part: {"job": service, "service": service, "namespace": namespace, "endpoint": "metrics",
               "pod": f"{service}-5d8f7c9b4-x2x7q", "instance": f"10.0.3.{i}:8080", "container": container}
        for i, (part, service, container) in enumerate(
            (("controller", f"{fullname}-metrics", "external-secrets"), ("webhook", f"{fullname}-webhook", "webhook")), start=11
        )
    }


def _scraped(metric: str, target: dict[str, str], **exposed: str) -> str:
    """A series as Prometheus stores it with honor_labels false: the target's labels win,
    an exposed label that clashes (ESO's `namespace`) moves to `exported_<name>`."""
    labels = dict(target)
    for k, v in exposed.items():
        if v:  # an empty label is no label to Prometheus (ESO's `namespace` of a cluster-scoped store)
            labels[f"exported_{k}" if k in target else k] = v
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _apiserver(metric: str, **labels: str) -> str:
    """An API server series as kube-prometheus-stack scrapes it (job apiserver, the default/kubernetes Service)."""
    target = {"job": "apiserver", "service": "kubernetes", "namespace": "default", "endpoint": "https", "instance": "172.20.0.1:443"}
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in sorted({**target, **labels}.items())) + "}"


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


def _rules(rule: dict) -> list[str]:
    return [r["alert"] for r in rule["spec"]["groups"][0]["rules"]]


def _required_and_optional(plan) -> tuple[list[str], list[str]]:
    """The plan's ExternalSecrets the catalog says must sync (critical), and the others."""
    must = {CATALOG.target_secret(s): s.must_sync for s in CATALOG.by_sync_class}
    names = plan.outputs["secretNames"]
    return sorted(n for n in names if must[n]), sorted(n for n in names if not must[n])


def _healthy(plan, minutes: int) -> list[dict]:
    """What a healthy cluster reports: both pods up, every ExternalSecret and the store Ready."""
    t = _targets(plan)
    ns, store = plan.outputs["appNamespace"], plan.outputs["storeName"]
    series = [{"series": _scraped("up", t[part]), "values": f"1x{minutes}"} for part in t]
    for name in plan.outputs["secretNames"]:
        for status, value in (("True", 1), ("False", 0)):
            series.append({"series": _scraped("externalsecret_status_condition", t["controller"], namespace=ns, name=name,
                                              condition="Ready", status=status), "values": f"{value}x{minutes}"})
    for status, value in (("True", 1), ("False", 0)):
        series.append({"series": _scraped("clustersecretstore_status_condition", t["controller"], namespace="", name=store,
                                          condition="Ready", status=status), "values": f"{value}x{minutes}"})
    return series


def _replace(series: list[dict], new: list[dict]) -> list[dict]:
    """``series`` with the same-named ones swapped for ``new``."""
    names = {s["series"] for s in new}
    return [s for s in series if s["series"] not in names] + new


def _quiet(rule: dict, at: str, but: dict[str, list[dict]] | None = None) -> list[dict]:
    """Every alert of the rule checked at ``at``: those in ``but`` with their expected alerts, the others silent."""
    but = but or {}
    return [{"eval_time": at, "alertname": a, "exp_alerts": but.get(a, [])} for a in _rules(rule)]


@pytest.mark.parametrize("stack", ALERTING)
def test_each_alert_fires_when_it_should_and_the_healthy_case_is_quiet(stack, tmp_path):
    plan = render(stack)
    rule = _rule(stack)
    store, ns = plan.outputs["storeName"], plan.outputs["appNamespace"]
    t = _targets(plan)
    required, optional = _required_and_optional(plan)
    es = lambda name, status: _scraped("externalsecret_status_condition", t["controller"], namespace=ns, name=name, condition="Ready", status=status)  # noqa: E731
    failing = _replace(_healthy(plan, 60), [
        # The first critical one and the optional one not Ready from the start, the store too.
        {"series": es(required[0], "False"), "values": "1x60"},
        {"series": es(required[0], "True"), "values": "0x60"},
        {"series": es(optional[0], "False"), "values": "1x60"},
        {"series": es(optional[0], "True"), "values": "0x60"},
        {"series": _scraped("clustersecretstore_status_condition", t["controller"], namespace="", name=store, condition="Ready", status="False"), "values": "1x60"},
        {"series": _scraped("externalsecret_sync_calls_error", t["controller"], namespace=ns, name=required[-1]), "values": "0+1x60"},
        # The API server cannot reach the webhook (a NetworkPolicy, a dead Service): counted there, never by the webhook.
        {"series": _apiserver("apiserver_admission_webhook_rejection_count", name=ESO_WEBHOOKS[2], type="validating", operation="CREATE",
                              error_type="calling_webhook_error", rejection_code="503"), "values": "0+1x60"},
    ])
    first = {"namespace": ns, "name": required[0]}
    tests = [
        # Not yet: every alert waits out its `for`.
        {"eval_time": "4m", "alertname": name, "exp_alerts": []}
        for name in ("AragoraSecretsNotSynced", "AragoraStoreNotReady", "ExternalSecretsWebhookFailing", "AragoraOptionalSecretsNotSynced")
    ] + [
        {"eval_time": "15m", "alertname": "AragoraSecretsNotSynced", "exp_alerts": [_expected(rule, "AragoraSecretsNotSynced", first)]},
        {"eval_time": "15m", "alertname": "AragoraOptionalSecretsNotSynced", "exp_alerts": []},
        {"eval_time": "45m", "alertname": "AragoraOptionalSecretsNotSynced", "exp_alerts": [
            _expected(rule, "AragoraOptionalSecretsNotSynced", {"namespace": ns, "name": optional[0]})
        ]},
        {"eval_time": "10m", "alertname": "AragoraStoreNotReady", "exp_alerts": [_expected(rule, "AragoraStoreNotReady", {"name": store})]},
        {"eval_time": "40m", "alertname": "AragoraSecretSyncErrors", "exp_alerts": [
            _expected(rule, "AragoraSecretSyncErrors", {"namespace": ns, "name": required[-1]})
        ]},
        {"eval_time": "15m", "alertname": "ExternalSecretsWebhookFailing", "exp_alerts": [
            _expected(rule, "ExternalSecretsWebhookFailing", {"name": ESO_WEBHOOKS[2]})
        ]},
        # Not Ready is not flapping, and a reported ExternalSecret is not missing; ESO is up.
        *({"eval_time": "45m", "alertname": a, "exp_alerts": []} for a in
          ("AragoraSecretsFlapping", "AragoraSecretsNotReported", "ExternalSecretsControllerDown", "ExternalSecretsWebhookDown")),
    ]
    healthy = _healthy(plan, 60) + [
        # Counters that stopped where an old incident left them; denials are the webhook working.
        {"series": _scraped("externalsecret_sync_calls_error", t["controller"], namespace=ns, name=required[0]), "values": "5x60"},
        {"series": _apiserver("apiserver_admission_webhook_rejection_count", name=ESO_WEBHOOKS[2], type="validating", operation="CREATE",
                              error_type="no_error", rejection_code="403"), "values": "0+1x60"},
    ]
    _promtool_tests(tmp_path, rule, [
        {"input_series": failing, "alert_rule_test": tests},
        {"input_series": healthy, "alert_rule_test": _quiet(rule, "60m")},
    ])


def _eso_gone(plan, rule: dict) -> list[dict]:
    """ESO's series gone every way they go: the rules page instead of falling silent; one spare down is quiet."""
    t = _targets(plan)
    ns = plan.outputs["appNamespace"]
    required, _ = _required_and_optional(plan)
    gone = {
        "ExternalSecretsControllerDown": [_expected(rule, "ExternalSecretsControllerDown", {})],
        "ExternalSecretsWebhookDown": [_expected(rule, "ExternalSecretsWebhookDown", {})],
        "AragoraSecretsNotReported": [_expected(rule, "AragoraSecretsNotReported", {"namespace": ns, "name": n}) for n in required],
    }
    # Healthy for 20 minutes, then both Deployments deleted: every ESO series goes stale at once.
    deleted = [{**s, "values": s["values"].split("x")[0] + "x20 stale"} for s in _healthy(plan, 20)]
    # The controller crash-loops: its pod still a target, `up` 0, its gauges gone with the process.
    crashing = [
        {**s, "values": s["values"].split("x")[0] + "x10 stale"} if "status_condition" in s["series"] else s
        for s in _replace(_healthy(plan, 40), [{"series": _scraped("up", t["controller"]), "values": "1x10 0x30"}])
    ]
    # Two controllers, one restarting: the other still serves, no page.
    spare = {**t["controller"], "pod": "external-secrets-5d8f7c9b4-k9v2m", "instance": "10.0.3.21:8080"}
    one_down = _replace(_healthy(plan, 20), [{"series": _scraped("up", t["controller"]), "values": "1x5 0x15"}]) + [
        {"series": _scraped("up", spare), "values": "1x20"}]
    return [
        # Never any ESO series (uninstalled, or its ServiceMonitor not selected): only the API server reports.
        {"input_series": [{"series": _apiserver("up"), "values": "1x30"}], "alert_rule_test": [
            {"eval_time": "3m", "alertname": a, "exp_alerts": []} for a in gone
        ] + _quiet(rule, "15m", gone)},
        {"input_series": deleted, "alert_rule_test": _quiet(rule, "19m") + _quiet(rule, "40m", gone)},
        {"input_series": crashing, "alert_rule_test": _quiet(rule, "9m") + _quiet(rule, "30m", {
            **gone, "ExternalSecretsWebhookDown": []})},
        {"input_series": one_down, "alert_rule_test": _quiet(rule, "20m")},
    ]


def _webhook_failures(rule: dict) -> list[dict]:
    """The webhook alert counts failures where the API server sees them, and denials are not failures."""
    alert = "ExternalSecretsWebhookFailing"
    rejections = lambda name, error_type, code, op="UPDATE": _apiserver(  # noqa: E731
        "apiserver_admission_webhook_rejection_count", name=name, type="validating", operation=op, error_type=error_type, rejection_code=code)
    fired = lambda *names: [_expected(rule, alert, {"name": n}) for n in sorted(names)]  # noqa: E731
    groups = [
        # Unreachable (503), or answering HTTP errors of its own (a 404: the Service reaches something else),
        # with failurePolicy Fail: the API server rejects the write with a calling error.
        {"input_series": [{"series": rejections(ESO_WEBHOOKS[0], "calling_webhook_error", "503"), "values": "0+1x25"},
                          {"series": rejections(ESO_WEBHOOKS[1], "calling_webhook_error", "404", "CREATE"), "values": "0+2x25"}],
         "alert_rule_test": [{"eval_time": "3m", "alertname": alert, "exp_alerts": []},
                             {"eval_time": "12m", "alertname": alert, "exp_alerts": fired(ESO_WEBHOOKS[0], ESO_WEBHOOKS[1])}]},
        # The webhook answers an internal error (HTTP 200 carrying code 500): only the rejection code shows it.
        # The API server failing on its side of the call counts too.
        {"input_series": [{"series": rejections(ESO_WEBHOOKS[2], "no_error", "500"), "values": "0+1x25"},
                          {"series": rejections(ESO_WEBHOOKS[0], "apiserver_internal_error", "0", "DELETE"), "values": "0+1x25"}],
         "alert_rule_test": [{"eval_time": "12m", "alertname": alert, "exp_alerts": fired(ESO_WEBHOOKS[0], ESO_WEBHOOKS[2])}]},
        # failurePolicy Ignore: writes pass unvalidated, the API server counts a fail-open.
        {"input_series": [{"series": _apiserver("apiserver_admission_webhook_fail_open_count", name=ESO_WEBHOOKS[2], type="validating"),
                           "values": "0+1x25"}],
         "alert_rule_test": [{"eval_time": "12m", "alertname": alert, "exp_alerts": fired(ESO_WEBHOOKS[2])}]},
        # Denials (403 for an invalid spec, 422 for an invalid field) are the webhook working;
        # another product's webhook failing is not ESO's; successes are counted elsewhere.
        {"input_series": [{"series": rejections(ESO_WEBHOOKS[2], "no_error", "403"), "values": "0+3x25"},
                          {"series": rejections(ESO_WEBHOOKS[0], "no_error", "422"), "values": "0+1x25"},
                          {"series": rejections("validate.kyverno.svc-fail", "calling_webhook_error", "503"), "values": "0+1x25"},
                          {"series": _apiserver("apiserver_admission_webhook_request_total", name=ESO_WEBHOOKS[2], type="validating",
                                                operation="UPDATE", code="200", rejected="false"), "values": "0+9x25"}],
         "alert_rule_test": [{"eval_time": f"{m}m", "alertname": alert, "exp_alerts": []} for m in (10, 24)]},
    ]
    return groups


def _flapping(plan, rule: dict) -> list[dict]:
    """A required secret that flaps pages though no episode outlasts the not-synced `for`; a blip or an optional one does not."""
    t = _targets(plan)
    ns = plan.outputs["appNamespace"]
    required, optional = _required_and_optional(plan)
    flapping = [alert for alert in _rules(rule) if alert.endswith("SecretsFlapping")]
    assert flapping == ["AragoraSecretsFlapping"]
    not_ready = lambda name: _scraped("externalsecret_status_condition", t["controller"], namespace=ns, name=name, condition="Ready", status="False")  # noqa: E731
    ready = lambda name: _scraped("externalsecret_status_condition", t["controller"], namespace=ns, name=name, condition="Ready", status="True")  # noqa: E731

    def flips(name: str, pattern: str) -> list[dict]:
        """Both Ready series of ``name`` following ``pattern`` (1 = not Ready), as ESO sets them."""
        return [{"series": not_ready(name), "values": pattern},
                {"series": ready(name), "values": " ".join("0" if v == "1" else "1" for v in pattern.split())}]

    # Not Ready 6 minutes, Ready 4, again and again: never 10 minutes in a row.
    episode = " ".join(["1"] * 6 + ["0"] * 4)
    flap = " ".join(["0"] * 5 + [episode] * 5)
    blip = " ".join(["0"] * 10 + ["1"] * 6 + ["0"] * 44)
    named = lambda name: [_expected(rule, "AragoraSecretsFlapping", {"namespace": ns, "name": name})]  # noqa: E731
    groups = [
        {"input_series": _replace(_healthy(plan, 60), flips(required[0], flap)), "alert_rule_test": [
            {"eval_time": "14m", "alertname": "AragoraSecretsFlapping", "exp_alerts": []},
            # The second episode begins at minute 15: it pages then; the not-synced alert never does.
            {"eval_time": "16m", "alertname": "AragoraSecretsFlapping", "exp_alerts": named(required[0])},
            *_quiet(rule, "26m", {"AragoraSecretsFlapping": named(required[0])}),
            *_quiet(rule, "40m", {"AragoraSecretsFlapping": named(required[0])}),
        ]},
        # One short episode (a transient backend error) is not a flap; an optional one flapping pages nobody.
        {"input_series": _replace(_healthy(plan, 60), flips(required[0], blip) + flips(optional[0], flap)),
         "alert_rule_test": [{"eval_time": f"{m}m", "alertname": "AragoraSecretsFlapping", "exp_alerts": []} for m in (17, 30, 40)]},
    ]
    return groups


# One promtool run for the three: most of its time is evaluating every rule at each minute of each group.
@pytest.mark.parametrize("stack", ALERTING)
def test_rules_page_when_eso_is_gone_its_webhook_fails_or_a_required_secret_flaps_and_look_alikes_stay_quiet(stack, tmp_path):
    plan, rule = render(stack), _rule(stack)
    _promtool_tests(tmp_path, rule, _eso_gone(plan, rule) + _webhook_failures(rule) + _flapping(plan, rule))


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
    # The series run to just past the latest check (stop + window + `for`): promtool evaluates every
    # rule at each minute up to there, so a longer run only costs time (production's is hours).
    window, run = 2 * interval, 5 * interval + 30
    (alert,) = [r["alert"] for r in rule["spec"]["groups"][0]["rules"] if r["alert"].endswith("SecretSyncStalled")]
    controller = _targets(plan)["controller"]

    def syncs(name: str, *, until: int | None = None, start: int = 0) -> dict:
        """One sync at creation, then one per interval, up to minute ``until`` (then silence)."""
        values = [f"_x{start}"] if start else []
        count, points = 0, []
        for minute in range(start, run + 1):
            if minute == start or ((minute - start) % interval == 0 and (until is None or minute <= until)):
                count += 1
            points.append(str(count))
        return {"series": _scraped("externalsecret_sync_calls_total", controller, namespace=namespace, name=name), "values": " ".join(values + points)}

    def ready(name: str) -> dict:
        return {"series": _scraped("externalsecret_status_condition", controller, namespace=namespace, name=name, condition="Ready", status="True"),
                "values": f"1x{run}"}

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
    controller = _targets(render(stack))["controller"]
    calls = lambda status: _scraped("externalsecret_provider_api_calls_count", controller, provider="P", call="GetSecretValue", status=status)  # noqa: E731
    labels = {"provider": "P", "call": "GetSecretValue"}
    groups = [
        {"input_series": [{"series": calls("error"), "values": "0+1x60"}], "alert_rule_test": [
            {"eval_time": "8m", "alertname": alert, "exp_alerts": []},
            {"eval_time": "20m", "alertname": alert, "exp_alerts": [_expected(rule, alert, labels)]},
        ]},
        # Successes rise, errors stay where an old incident left them: quiet.
        {"input_series": [{"series": calls("success"), "values": "0+5x60"}, {"series": calls("error"), "values": "7x60"}],
         "alert_rule_test": [{"eval_time": "50m", "alertname": alert, "exp_alerts": []}]},
        # A brief burst (under the `for`) is not an incident.
        {"input_series": [{"series": calls("error"), "values": "0 1 2 2x57"}],
         "alert_rule_test": [{"eval_time": f"{m}m", "alertname": alert, "exp_alerts": []} for m in (5, 12, 30)]},
    ]
    _promtool_tests(tmp_path, rule, groups)


def _slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("stack", ALERTING)
def test_the_alerts_section_names_every_metric_and_label_the_rules_read(stack):
    """Each is there with its source's file and line; a new metric or label must be added (and sourced)."""
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text[text.index("\n## Alerts\n"):]
    section = section[: section.index("\n## ", 1)]
    exprs = [r["expr"] for r in _rule(stack)["spec"]["groups"][0]["rules"]]
    selectors = [m for e in exprs for m in re.findall(r"([a-z_:][a-z0-9_:]*)\{([^}]*)\}", e)]
    metrics = {m for m, _ in selectors}
    labels = {name for _, matchers in selectors for name in re.findall(r"([a-z_][a-z0-9_]*)\s*(?:=~|!~|!=|=)", matchers)}
    labels |= {name for e in exprs for group in re.findall(r"by \(([^)]*)\)", e) for name in re.split(r",\s*", group)}
    assert {"up", "externalsecret_status_condition", "apiserver_admission_webhook_rejection_count"} <= metrics and "exported_namespace" in labels
    missing = sorted(n for n in metrics | labels if f"`{n}" not in section)
    assert not missing, f"docs/operations.md, Alerts: name and source these: {missing}"


@pytest.mark.parametrize("stack", ALERTING)
def test_every_alert_links_a_readme_section_that_exists(stack):
    for r in _rule(stack)["spec"]["groups"][0]["rules"]:
        url = r["annotations"]["runbook_url"]
        page, _, anchor = url.partition("#")
        assert (ROOT / page).is_file(), url  # the shipped default is the runbook's path in this repository
        anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", (ROOT / page).read_text(), flags=re.M)}
        assert anchor in anchors, url
        assert r["labels"]["severity"] in ("critical", "warning") and r["labels"]["team"] == "platform"

"""Alerts on the sync path, as a Prometheus Operator PrometheusRule.

Owns: one ``monitoring.coreos.com/v1`` PrometheusRule with the alerts an
operator needs before the app notices: ESO's controller or webhook gone
(critical; their scrape targets vanish with the pods, so ``absent(up == 1)``),
a required or session Secret not synced, not reported at all, or flapping
(critical), the optional one not synced (warning), the store not Ready
(critical), sync errors rising (warning), ESO's admission webhook failing as
the API server sees it (critical), a periodic ExternalSecret that stopped
syncing while it still looks healthy (warning; ESO issue #6053: Ready, no
errors, no refresh), and provider API calls failing while the last good value
is still served (warning). So the set pages when every ESO series is gone,
never falls silent. Every alert carries ``runbook_url`` to the runbook section
that fixes it.

Metric and label names are ESO 2.9's, as users' Prometheus stores them
(docs/operations.md, "Alerts", cites each source line):
``externalsecret_status_condition`` and ``clustersecretstore_status_condition``
(labels ``name``, ``namespace``, ``condition``, ``status``),
``externalsecret_sync_calls_total`` and ``externalsecret_sync_calls_error``,
``externalsecret_provider_api_calls_count`` (``provider``, ``call``,
``status``); the API server's ``apiserver_admission_webhook_rejection_count``
and ``apiserver_admission_webhook_fail_open_count`` (``name`` is the
webhook's); and ``up`` of the ServiceMonitors' jobs. The chart's
ServiceMonitors keep ``honorLabels: false``, so Prometheus moves an
ExternalSecret's ``namespace`` label to ``exported_namespace`` (``namespace``
becomes ESO's own); the rules select on it and give the alert back a
``namespace`` label naming the ExternalSecret's.
Does not own: the scraping (the chart's ServiceMonitor, ``eso.py``), nor the
Prometheus Operator or Alertmanager routing (the ``alertLabels`` route them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.facts import COMPONENT_FREE, K8S_IDENTITY, Facts

FACTS = {
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": Facts(K8S_IDENTITY, free="a Kubernetes object evaluated by the platform's Prometheus: no per-object price"),
    "aragora:monitoring:SyncAlerts": Facts((), free=COMPONENT_FREE),
}

# Prometheus's name for a scraped label that clashes with a target label
# (honor_labels: false): ESO's `namespace` (the ExternalSecret's) lands here.
EXPORTED_NAMESPACE = "exported_namespace"
# Two not-Ready episodes in this long page, however short each one is (each
# flip resets a `for:`, so the not-synced alert never sees them).
FLAP_WINDOW = "30m"
FLAP_CHANGES = 3


@dataclass(frozen=True)
class SyncAlertsArgs:
    rule_name: str
    """The PrometheusRule object and its rule group."""
    alert_prefix: str
    """Names the app's alerts (``<prefix>SecretsNotSynced``); ESO's own alerts keep ESO's name."""
    namespace: str
    """Where the rule lives (the Prometheus Operator's ruleNamespaceSelector must see it)."""
    app_namespace: str
    required_secrets: Sequence[str]
    """ExternalSecrets whose failure breaks the app: critical."""
    optional_secrets: Sequence[str]
    store_name: str
    periodic_secrets: Sequence[str]
    """ExternalSecrets refreshed on an interval: a flat sync counter means they stopped.
    ``OnChange`` ones sync only when their spec changes, so silence is normal for them."""
    stall_window: str
    """A Prometheus duration, twice the refresh interval: no sync in this long is a stop."""
    runbook_url: str
    """Base URL of the runbook (docs/operations.md); each alert appends its section's anchor."""
    eso_namespace: str
    """ESO's namespace: the ``namespace`` label Prometheus gives its targets."""
    controller_job: str
    """The ``job`` of the controller's scrape target (the metrics Service's name)."""
    webhook_job: str
    """The ``job`` of the webhook's scrape target."""
    webhooks: Sequence[str]
    """ESO's validating webhook names, as the API server's admission metrics label them."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Added to every alert, for Alertmanager routing (e.g. team=platform)."""
    rule_labels: Mapping[str, str] = field(default_factory=dict)
    """On the PrometheusRule object, e.g. for the operator's ruleSelector."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The operator's release: the webhook and scraping must exist first."""

    def __post_init__(self) -> None:
        # An empty name list would select no series: the alert could never fire.
        if not self.webhooks:
            raise ValueError("SyncAlertsArgs.webhooks: name at least one of ESO's validating webhooks")


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, args: SyncAlertsArgs) -> dict:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {**dict(args.labels), "severity": severity},
        "annotations": {
            "summary": summary,
            "runbook_url": f"{args.runbook_url}#alert-{name.lower()}",
        },
    }


def _names(names: Sequence[str]) -> str:
    return "|".join(names)


def _regex(literals: Sequence[str]) -> str:
    """A PromQL regex matching exactly these strings (dots escaped inside the double-quoted literal)."""
    return "|".join(n.replace(".", "\\\\.") for n in literals)


def _app_namespaced(expr: str) -> str:
    """``expr`` with the ExternalSecret's namespace back in ``namespace`` (Prometheus put ESO's there)."""
    return f'label_replace({expr}, "namespace", "$1", "{EXPORTED_NAMESPACE}", "(.+)")'


def _absent_target(job: str, namespace: str) -> str:
    # No target up: the pod is gone (its endpoint leaves service discovery, so
    # `up` has no series), crash-looping (up 0), or never scraped at all.
    return f'absent(up{{job="{job}",namespace="{namespace}"}} == 1)'


def rule_groups(args: SyncAlertsArgs) -> list[dict]:
    """The rule groups; a pure function, so promtool can test exactly what is deployed."""
    in_app = f'{EXPORTED_NAMESPACE}="{args.app_namespace}"'
    not_ready = 'condition="Ready",status="False"'
    condition = "externalsecret_status_condition"

    def by_secret(agg: str, inner: str) -> str:
        return f"{agg} by (namespace, name) ({_app_namespaced(inner)})"

    webhook_failures = (
        # Unreachable, TLS, timeout or an unusable answer: the API server could not use the webhook.
        f'increase(apiserver_admission_webhook_rejection_count{{name=~"{_regex(args.webhooks)}",error_type!="no_error"}}[10m])'
        # The webhook answered an internal error: controller-runtime sends it in a 200 reply,
        # so only the API server's rejection code shows it.
        f' or increase(apiserver_admission_webhook_rejection_count{{name=~"{_regex(args.webhooks)}",rejection_code=~"5.."}}[10m])'
        # failurePolicy Ignore: the write went through unvalidated.
        f' or increase(apiserver_admission_webhook_fail_open_count{{name=~"{_regex(args.webhooks)}"}}[10m])'
    )
    alerts = [
        _alert(
            f"{args.alert_prefix}SecretsNotSynced",
            by_secret("max", f'{condition}{{{in_app},name=~"{_names(args.required_secrets)}",{not_ready}}}') + " == 1",
            "10m", "critical", "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} is not Ready: the app cannot get its secrets", args,
        ),
        _alert(
            f"{args.alert_prefix}StoreNotReady",
            f'max by (name) (clustersecretstore_status_condition{{name="{args.store_name}",{not_ready}}}) == 1',
            "5m", "critical", "ClusterSecretStore {{ $labels.name }} is not Ready: no ExternalSecret can sync", args,
        ),
        _alert(
            "ExternalSecretsWebhookFailing",
            f"sum by (name) ({webhook_failures}) > 0",
            "5m", "critical", "The API server cannot use ESO's admission webhook {{ $labels.name }}: stores and ExternalSecrets cannot be changed", args,
        ),
        _alert(
            f"{args.alert_prefix}SecretSyncErrors",
            by_secret("sum", f"increase(externalsecret_sync_calls_error{{{in_app}}}[15m])") + " > 0",
            "15m", "warning", "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} keeps failing to sync", args,
        ),
    ]
    if args.periodic_secrets:
        syncs = f'externalsecret_sync_calls_total{{{in_app},name=~"{_names(args.periodic_secrets)}"}}'
        alerts.append(
            _alert(
                f"{args.alert_prefix}SecretSyncStalled",
                # Flat over the window, yet the counter existed a window ago
                # (a new ExternalSecret is not a stall) and the object still
                # exists (its condition series is there).
                by_secret("sum", f"changes({syncs}[{args.stall_window}])") + " == 0"
                " and on (namespace, name) " + by_secret("sum", f"{syncs} offset {args.stall_window}")
                + " and on (namespace, name) " + by_secret("max", f'{condition}{{{in_app},condition="Ready"}}'),
                "5m",
                "warning",
                "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} has not synced for twice its refresh interval",
                args,
            )
        )
    alerts.append(
        _alert(
            f"{args.alert_prefix}ProviderCallsFailing",
            # Cluster-wide: ESO labels provider calls by provider and call, not by object.
            'sum by (provider, call) (increase(externalsecret_provider_api_calls_count{status="error"}[5m])) > 0',
            "10m",
            "warning",
            "ESO's {{ $labels.provider }} {{ $labels.call }} calls keep failing: values are no longer refreshed",
            args,
        )
    )
    # ESO itself gone, and a required secret unreported or flapping: after the
    # others, so a deployed rule's diff shows them as additions only.
    alerts += [
        _alert(
            "ExternalSecretsControllerDown",
            _absent_target(args.controller_job, args.eso_namespace),
            "5m", "critical", "No ESO controller is up (or none is scraped): no ExternalSecret syncs and no other ESO alert can fire", args,
        ),
        _alert(
            "ExternalSecretsWebhookDown",
            _absent_target(args.webhook_job, args.eso_namespace),
            "5m", "critical", "No ESO admission webhook is up (or none is scraped): stores and ExternalSecrets cannot be changed", args,
        ),
    ]
    if args.required_secrets:
        alerts += [
            _alert(
                f"{args.alert_prefix}SecretsNotReported",
                " or ".join(
                    by_secret("max", f'absent({condition}{{{in_app},name="{n}",condition="Ready"}})') for n in args.required_secrets
                ),
                "10m", "critical", "ESO reports no Ready condition for ExternalSecret {{ $labels.namespace }}/{{ $labels.name }}: it is gone or not reconciled", args,
            ),
            _alert(
                f"{args.alert_prefix}SecretsFlapping",
                by_secret("max", f'changes({condition}{{{in_app},name=~"{_names(args.required_secrets)}",{not_ready}}}[{FLAP_WINDOW}])')
                + f" >= {FLAP_CHANGES}",
                "0m", "critical", f"ExternalSecret {{{{ $labels.namespace }}}}/{{{{ $labels.name }}}} keeps going in and out of Ready (twice or more in {FLAP_WINDOW})", args,
            ),
        ]
    if args.optional_secrets:
        alerts.insert(1, _alert(
            f"{args.alert_prefix}OptionalSecretsNotSynced",
            by_secret("max", f'{condition}{{{in_app},name=~"{_names(args.optional_secrets)}",{not_ready}}}') + " == 1",
            "30m", "warning", "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} (optional integrations) is not Ready", args,
        ))
    return [{"name": args.rule_name, "rules": alerts}]


class SyncAlerts(pulumi.ComponentResource):
    """The PrometheusRule of the sync path."""

    rule_name: pulumi.Output[str]

    def __init__(self, name: str, args: SyncAlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:monitoring:SyncAlerts", name, None, opts)
        rule = k8s.apiextensions.CustomResource(
            f"{name}-rule",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={
                "name": args.rule_name,
                "namespace": args.namespace,
                "labels": dict(args.rule_labels),
            },
            spec={"groups": rule_groups(args)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.rule_name = rule.metadata["name"]
        self.register_outputs({"rule_name": self.rule_name})

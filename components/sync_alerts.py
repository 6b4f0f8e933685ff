"""Alerts on the sync path, as a Prometheus Operator PrometheusRule.

Owns: one ``monitoring.coreos.com/v1`` PrometheusRule with the alerts an
operator needs before the app notices: a required or session Secret not
synced (critical), the optional one not synced (warning), the store not Ready
(critical), sync errors rising (warning), ESO's admission webhook failing
(critical), a periodic ExternalSecret that stopped syncing while it still
looks healthy (warning; ESO issue #6053: Ready, no errors, no refresh), and
provider API calls failing while the last good value is still served
(warning). Every alert carries ``runbook_url`` to the runbook section that
fixes it. Metric names are ESO 2.9's (``docs/api/metrics.md``,
``esmetrics.go``): ``externalsecret_status_condition`` and
``clustersecretstore_status_condition`` (labels ``name``, ``namespace``,
``condition``, ``status``), ``externalsecret_sync_calls_total`` and
``externalsecret_sync_calls_error``, ``externalsecret_provider_api_calls_count``
(labels ``provider``, ``call``, ``status``), and controller-runtime's
``controller_runtime_webhook_requests_total``.
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


@dataclass(frozen=True)
class SyncAlertsArgs:
    rule_name: str
    """The PrometheusRule object and its rule group."""
    alert_prefix: str
    """Names the app's alerts (``<prefix>SecretsNotSynced``); ESO's own webhook alert keeps ESO's name."""
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
    labels: Mapping[str, str] = field(default_factory=dict)
    """Added to every alert, for Alertmanager routing (e.g. team=platform)."""
    rule_labels: Mapping[str, str] = field(default_factory=dict)
    """On the PrometheusRule object, e.g. for the operator's ruleSelector."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The operator's release: the webhook and scraping must exist first."""


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


def rule_groups(args: SyncAlertsArgs) -> list[dict]:
    """The rule groups; a pure function, so promtool can test exactly what is deployed."""
    ns = args.app_namespace
    not_ready = 'condition="Ready",status="False"'
    alerts = [
        _alert(
            f"{args.alert_prefix}SecretsNotSynced",
            f'max by (namespace, name) (externalsecret_status_condition{{namespace="{ns}",name=~"{_names(args.required_secrets)}",{not_ready}}}) == 1',
            "10m", "critical", "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} is not Ready: the app cannot get its secrets", args,
        ),
        _alert(
            f"{args.alert_prefix}StoreNotReady",
            f'max by (name) (clustersecretstore_status_condition{{name="{args.store_name}",{not_ready}}}) == 1',
            "5m", "critical", "ClusterSecretStore {{ $labels.name }} is not Ready: no ExternalSecret can sync", args,
        ),
        _alert(
            "ExternalSecretsWebhookFailing",
            'sum(increase(controller_runtime_webhook_requests_total{service=~"external-secrets.*",code="500"}[5m])) > 0',
            "5m", "critical", "ESO's admission webhook answers with errors: stores and ExternalSecrets cannot be changed", args,
        ),
        _alert(
            f"{args.alert_prefix}SecretSyncErrors",
            f'sum by (namespace, name) (increase(externalsecret_sync_calls_error{{namespace="{ns}"}}[15m])) > 0',
            "15m", "warning", "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} keeps failing to sync", args,
        ),
    ]
    if args.periodic_secrets:
        syncs = f'externalsecret_sync_calls_total{{namespace="{ns}",name=~"{_names(args.periodic_secrets)}"}}'
        alerts.append(
            _alert(
                f"{args.alert_prefix}SecretSyncStalled",
                # Flat over the window, yet the counter existed a window ago
                # (a new ExternalSecret is not a stall) and the object still
                # exists (its condition series is there).
                f"sum by (namespace, name) (changes({syncs}[{args.stall_window}])) == 0"
                f" and on (namespace, name) sum by (namespace, name) ({syncs} offset {args.stall_window})"
                f' and on (namespace, name) max by (namespace, name) (externalsecret_status_condition{{namespace="{ns}",condition="Ready"}})',
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
    if args.optional_secrets:
        alerts.insert(1, _alert(
            f"{args.alert_prefix}OptionalSecretsNotSynced",
            f'max by (namespace, name) (externalsecret_status_condition{{namespace="{ns}",name=~"{_names(args.optional_secrets)}",{not_ready}}}) == 1',
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

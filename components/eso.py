"""External Secrets Operator, installed by Helm.

Owns: the ``external-secrets`` namespace (Pod Security ``restricted``) and the
Helm release of the ``external-secrets`` chart (controller, webhook, cert
controller, CRDs), hardened through its values: only the ClusterSecretStore
and ExternalSecret reconcilers run, and each of the three deployments gets the
chart's NetworkPolicy (ingress: metrics from the monitoring namespace, health,
the webhook port; egress: DNS, the API server, the backend's API ports).
Does not own: any SecretStore or ExternalSecret (see ``cluster_secret_store``
and ``external_secrets``), nor the cloud identity the service account assumes;
the caller passes that identity in as service-account annotations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import eso_values
from components.facts import COMPONENT_FREE, K8S_IDENTITY, KUBERNETES_OBJECT_FREE, Facts
from components.service_account import ServiceAccount

RELEASE_FREE = "pods (ESO, Reloader) on the cluster's existing nodes: they use capacity the platform already pays for (sized with esoValues), not a price of their own"
FACTS = {
    "kubernetes:core/v1:Namespace": Facts(K8S_IDENTITY, free=KUBERNETES_OBJECT_FREE),
    # A release is identified by its name and namespace; everything else upgrades in place.
    "kubernetes:helm.sh/v3:Release": Facts(("name", "namespace"), free=RELEASE_FREE),
    "aragora:eso:ExternalSecretsOperator": Facts((), free=COMPONENT_FREE),
}

CHART = "external-secrets"
CHART_REPO = "https://charts.external-secrets.io"
NAMESPACE = "external-secrets"
SERVICE_ACCOUNT = "external-secrets"


ESO_SERVICE_ACCOUNT = ServiceAccount(NAMESPACE, SERVICE_ACCOUNT)
"""The controller's service account, created by the chart."""

# What Prometheus sees of the release (chart 2.9, release named after the chart,
# so the chart's fullname is the release name: _helpers.tpl "external-secrets.fullname").
# The chart's ServiceMonitors set no jobLabel, so the Prometheus Operator names
# each target's job after its Service: the controller's `<fullname>-metrics`
# (service.yaml), the webhook's `<fullname>-webhook` (webhook-service.yaml).
CONTROLLER_JOB = f"{CHART}-metrics"
WEBHOOK_JOB = f"{CHART}-webhook"
# The chart's validating webhooks (validatingwebhook.yaml), the `name` the API
# server's admission metrics carry.
VALIDATING_WEBHOOKS = (
    "validate.secretstore.external-secrets.io",
    "validate.clustersecretstore.external-secrets.io",
    "validate.externalsecret.external-secrets.io",
)

# Small, steady controllers: requests sized from ESO's own examples, limits
# leave headroom for a full resync after a restart.
_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}

# The stack uses ClusterSecretStores and ExternalSecrets only. Every other
# reconciler is attack surface (PushSecret writes to the backend; cluster-wide
# kinds fan out to every namespace) and RBAC the controller does not need.
RECONCILERS = {
    "processClusterStore": True,
    "processSecretStore": False,
    "processClusterExternalSecret": False,
    "processPushSecret": False,
    "processClusterPushSecret": False,
    "processClusterGenerator": False,
}

# Ports of the chart 2.9 pods (values.yaml: metrics.listen.port, the health
# ports, webhook.port).
METRICS_PORT = 8080
CONTROLLER_HEALTH_PORT = 8082
HEALTH_PORT = 8081
WEBHOOK_PORT = 10250
API_SERVER_PORTS = (443, 6443)


def _tcp(*ports: int) -> list[dict]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def network_policy(ingress: list[dict], egress_ports: tuple[int, ...]) -> dict:
    """A chart ``networkPolicy`` block: the listed ingress, and egress to DNS,
    the API server and ``egress_ports`` only (the chart selects the pods)."""
    egress = [
        {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"ports": _tcp(*sorted(set(API_SERVER_PORTS) | set(egress_ports)))},
    ]
    return {"enabled": True, "ingress": ingress, "egress": egress}


@dataclass(frozen=True)
class ExternalSecretsOperatorArgs:
    chart_version: str
    """The exact chart version: an upgrade is a reviewed change, never a range."""
    replicas: int = 1
    """Controller and webhook replicas; more than one adds leader election and PodDisruptionBudgets."""
    monitoring_namespace: str = "monitoring"
    """The only namespace whose pods may scrape the metrics ports."""
    service_monitor: bool = False
    """Render the chart's ServiceMonitor (failing the install when its CRD is missing)."""
    grafana_dashboard: bool = False
    """Ship the chart's Grafana dashboard ConfigMap."""
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """E.g. ``eks.amazonaws.com/role-arn`` (IRSA) or ``iam.gke.io/gcp-service-account``."""
    backend_ports: tuple[int, ...] = (443,)
    """TCP ports of the secret backend's API, the controller's only egress besides DNS and the API server."""
    values: Mapping[str, Any] = field(default_factory=dict)
    """The platform's chart values (scheduling, resources, registry mirror, ...), merged over this
    project's; only the paths ``eso_values.ALLOWED`` lists, never one that undoes a hardening."""

    def __post_init__(self) -> None:
        # The caller's values alone, then everything the release renders with (this project's values and
        # the caller's, over the chart's defaults): a hardening must hold in what Helm runs.
        refused = eso_values.problems(self.values) or eso_values.judge(eso_values.effective(helm_values(self)))
        if refused:
            path, why = refused[0]
            raise ValueError(f"ExternalSecretsOperatorArgs.values: {path} {why}")


def helm_values(args: ExternalSecretsOperatorArgs) -> dict:
    """The chart values (the project's, then the caller's allowed ones); a pure function so tests and the plan can read them."""
    webhook_port = (args.values.get("webhook") or {}).get("port", WEBHOOK_PORT)
    highly_available = args.replicas > 1
    pdb = {"enabled": highly_available, "minAvailable": 1}
    scrape = {
        "ports": _tcp(METRICS_PORT),
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": args.monitoring_namespace}}}],
    }
    ours = {
        **RECONCILERS,
        # failIfMissing: a cluster without the Prometheus Operator fails the up
        # instead of silently running unmonitored.
        "serviceMonitor": {"enabled": args.service_monitor, "renderMode": "failIfMissing"},
        "grafanaDashboard": {"enabled": args.grafana_dashboard},
        # Kubelet probes come from the node, not a pod, so health stays open;
        # the API server calls the webhook from outside any pod network.
        "networkPolicy": network_policy([scrape, {"ports": _tcp(CONTROLLER_HEALTH_PORT)}], args.backend_ports),
        "installCRDs": True,
        # The chart ships its CRDs as templates, so `helm uninstall` would delete
        # them and cascade-delete every ExternalSecret and the Secrets they own.
        "crds": {"annotations": {"helm.sh/resource-policy": "keep"}},
        "replicaCount": args.replicas,
        "leaderElect": highly_available,
        "podDisruptionBudget": pdb,
        "resources": _RESOURCES,
        "serviceAccount": {
            "create": True,
            "name": SERVICE_ACCOUNT,
            "annotations": dict(args.service_account_annotations),
        },
        # The webhook validates every store and ExternalSecret write
        # (failurePolicy Fail), so it needs the same availability as the controller.
        "webhook": {
            "replicaCount": args.replicas,
            "podDisruptionBudget": pdb,
            "resources": _RESOURCES,
            # The API server calls the webhook on its port, whichever the platform chose.
            "networkPolicy": network_policy([scrape, {"ports": _tcp(HEALTH_PORT, webhook_port)}], ()),
        },
        "certController": {
            "resources": _RESOURCES,
            "networkPolicy": network_policy([scrape, {"ports": _tcp(HEALTH_PORT)}], ()),
        },
    }
    return eso_values.merge(ours, args.values)


class ExternalSecretsOperator(pulumi.ComponentResource):
    """Installs ESO into ``external-secrets`` and exposes the release for ordering."""

    namespace: pulumi.Output[str]
    release: k8s.helm.v3.Release
    """Custom resources (stores, ExternalSecrets) depend on this: the CRDs and
    the admission webhook arrive with it."""

    def __init__(self, name: str, args: ExternalSecretsOperatorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:eso:ExternalSecretsOperator", name, None, opts)

        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": NAMESPACE,
                # The chart's pods run as non-root with all capabilities dropped.
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            },
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )

        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=CHART,
            chart=CHART,
            version=args.chart_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPO),
            namespace=ns.metadata["name"],
            values=helm_values(args),
            # Wait for the controller and the webhook: the stores created next are
            # rejected while the webhook has no endpoints.
            skip_await=False,
            timeout=600,
            cleanup_on_fail=True,
            max_history=10,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.namespace = ns.metadata["name"]

        self.register_outputs({"namespace": self.namespace, "release": self.release.status})

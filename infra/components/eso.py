"""External Secrets Operator, installed by Helm.

Owns: the ``external-secrets`` namespace and the Helm release of the
``external-secrets`` chart (controller, webhook, cert controller, CRDs).
Does not own: any SecretStore or ExternalSecret (see ``cluster_secret_store``
and ``external_secrets``), nor the cloud identity the service account assumes;
the caller passes that identity in as service-account annotations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

CHART = "external-secrets"
CHART_REPO = "https://charts.external-secrets.io"
NAMESPACE = "external-secrets"
SERVICE_ACCOUNT = "external-secrets"


@dataclass(frozen=True)
class ServiceAccount:
    """A Kubernetes service account: what every backend grants access to."""

    namespace: str
    name: str

    @property
    def subject(self) -> str:
        """As it appears in a token's ``sub`` claim."""
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    def ref(self, **extra: object) -> dict:
        """ESO's ``serviceAccountRef``; a ClusterSecretStore must name the namespace,
        or ESO looks for the account in each ExternalSecret's namespace."""
        return {"name": self.name, "namespace": self.namespace, **extra}


ESO_SERVICE_ACCOUNT = ServiceAccount(NAMESPACE, SERVICE_ACCOUNT)
"""The controller's service account, created by the chart."""

# Small, steady controllers: requests sized from ESO's own examples, limits
# leave headroom for a full resync after a restart.
_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}


@dataclass(frozen=True)
class ExternalSecretsOperatorArgs:
    chart_version: str
    """Exact chart version (no ranges): an operator upgrade is a reviewed change."""
    replicas: int
    """Controller and webhook replicas; more than one turns on leader election and PDBs."""
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """E.g. ``eks.amazonaws.com/role-arn`` (IRSA) or ``iam.gke.io/gcp-service-account``."""


def helm_values(args: ExternalSecretsOperatorArgs) -> dict:
    """The chart values; a pure function so tests and the plan can read them."""
    highly_available = args.replicas > 1
    pdb = {"enabled": highly_available, "minAvailable": 1}
    return {
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
        "webhook": {"replicaCount": args.replicas, "podDisruptionBudget": pdb, "resources": _RESOURCES},
        "certController": {"resources": _RESOURCES},
    }


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

"""Stakater Reloader: restart the app when a synced Secret changes (opt-in, ``reloader: install``).

Owns: the Helm release of the ``reloader`` chart in the app namespace, which
watches that namespace only (a namespaced Role, not a ClusterRole), Secrets
only, and rolls a workload by annotating its pod template (``annotations``
strategy: no env vars are injected, so the app's own manifests do not drift).
Reloader acts on Secrets annotated ``reloader.stakater.com/match: "true"``
(the ExternalSecrets' target templates add it) for workloads annotated
``reloader.stakater.com/search: "true"`` (the stack output
``appDeploymentAnnotations`` gives the app's Deployment exactly that).
Does not own: the app's Deployment, nor the namespace (``external_secrets``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.eso import RELEASE_FREE
from components.facts import COMPONENT_FREE, Facts

FACTS = {
    "kubernetes:helm.sh/v3:Release": Facts(("name", "namespace"), free=RELEASE_FREE),
    "aragora:rollout:Reloader": Facts((), free=COMPONENT_FREE),
}

CHART = "reloader"
CHART_REPO = "https://stakater.github.io/stakater-charts"
# Pinned like the ESO chart: a Reloader upgrade is a reviewed change.
CHART_VERSION = "2.2.16"
MATCH_ANNOTATION = {"reloader.stakater.com/match": "true"}
"""On a Secret: Reloader may roll workloads that search for it."""
SEARCH_ANNOTATION = {"reloader.stakater.com/search": "true"}
"""On a workload: roll me when a matching Secret I use changes."""


@dataclass(frozen=True)
class ReloaderArgs:
    namespace: pulumi.Input[str]


def helm_values() -> dict:
    return {
        "reloader": {
            "watchGlobally": False,
            "reloadStrategy": "annotations",
            "ignoreConfigMaps": True,
            "readOnlyRootFileSystem": True,
        }
    }


class Reloader(pulumi.ComponentResource):
    """The Reloader release, scoped to the app namespace."""

    def __init__(self, name: str, args: ReloaderArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:rollout:Reloader", name, None, opts)
        k8s.helm.v3.Release(
            f"{name}-release",
            name=CHART,
            chart=CHART,
            version=CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPO),
            namespace=args.namespace,
            values=helm_values(),
            skip_await=False,
            timeout=300,
            cleanup_on_fail=True,
            max_history=5,
            opts=pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on if opts else None),
        )
        self.register_outputs({})

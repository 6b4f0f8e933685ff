"""A ClusterSecretStore: how ESO reaches one secret backend.

Owns: the ``external-secrets.io/v1`` ClusterSecretStore object.
Does not own: the backend's provider block (built by the backend's own
component, e.g. ``AwsEsoIdentity.store_provider``) nor the operator that serves
the CRD (pass ``ResourceOptions(depends_on=[release, *grants])``: the store object waits for them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.eso_api import API_VERSION, CLUSTER_SECRET_STORE, CLUSTER_SECRET_STORE_TYPE
from components.facts import COMPONENT_FREE, K8S_IDENTITY, Facts

FACTS = {
    CLUSTER_SECRET_STORE_TYPE: Facts(K8S_IDENTITY, free="a Kubernetes object: kept by the cluster's API server, no per-object price (ESO's validation reads of the backend are a few a day, not counted)"),
    "aragora:eso:ClusterSecretStore": Facts((), free=COMPONENT_FREE),
}
"""Replaced when its identity changes; deleting it stops every sync but loses no value."""
# Long enough for ESO to validate the store against the backend on first
# install (webhook cold start plus one provider call), short enough to fail a
# broken `pulumi up` within minutes.
WAIT_TIMEOUT_SECONDS = 300


def await_ready_annotations(timeout_seconds: int = WAIT_TIMEOUT_SECONDS) -> dict[str, str]:
    """Make `pulumi up` fail loudly when ESO reports the object not Ready."""
    return {"pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": str(timeout_seconds)}


@dataclass(frozen=True)
class ClusterSecretStoreArgs:
    store_name: str
    provider: pulumi.Input[dict[str, Any]]
    """The ``spec.provider`` block, e.g. ``{"aws": {...}}``."""
    namespaces: Sequence[str]
    """The only namespaces whose ExternalSecrets may use the store. Without
    ``spec.conditions`` any namespace of the cluster could read every value."""
    await_ready: bool = True
    """`pulumi up` fails until ESO reports the store Ready (off for a first deploy)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """On the store object, e.g. ``app.kubernetes.io/part-of``."""


class ClusterSecretStore(pulumi.ComponentResource):
    """One cluster-wide store, usable only by ExternalSecrets in the given namespaces."""

    store_name: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterSecretStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:eso:ClusterSecretStore", name, None, opts)

        if not args.namespaces:
            raise ValueError("a ClusterSecretStore needs at least one namespace: an unbounded store serves every namespace")
        store = k8s.apiextensions.CustomResource(
            f"{name}-store",
            api_version=API_VERSION,
            kind=CLUSTER_SECRET_STORE,
            metadata={
                "name": args.store_name,
                "labels": dict(args.labels),
                "annotations": await_ready_annotations() if args.await_ready else {"pulumi.com/skipAwait": "true"},
            },
            spec={"provider": args.provider, "conditions": [{"namespaces": list(args.namespaces)}]},
            # The component's own depends_on, passed on: children do not inherit it from their parent.
            opts=pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on if opts else None),
        )
        self.store_name = store.metadata["name"]

        self.register_outputs({"store_name": self.store_name})

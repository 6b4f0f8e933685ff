"""The application's ExternalSecrets: which remote values land in which Secret.

Owns: the application namespace (declared, never deleted by this stack) and one
``external-secrets.io/v1`` ExternalSecret per target Secret.
Does not own: the store the ExternalSecrets read from (``cluster_secret_store``),
the Secrets themselves (ESO creates and updates them, ``creationPolicy: Orphan``,
so they outlive their ExternalSecret),
nor the values (they live in the backend only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pulumi
import pulumi_kubernetes as k8s

from components.cluster_secret_store import await_ready_annotations
from components.eso_api import API_VERSION, CLUSTER_SECRET_STORE, EXTERNAL_SECRET, EXTERNAL_SECRET_TYPE
from components.facts import COMPONENT_FREE, K8S_IDENTITY, KUBERNETES_OBJECT_FREE, CostRole, Facts

NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"
FACTS = {
    NAMESPACE_TYPE: Facts(K8S_IDENTITY, free=KUBERNETES_OBJECT_FREE),
    # Deleting one leaves its Secret (creationPolicy Orphan): the plan diff says so for this type.
    EXTERNAL_SECRET_TYPE: Facts(
        K8S_IDENTITY,
        cost_role=CostRole.PROVIDER_CALLS,
        free="a Kubernetes object, no per-object price: the provider calls its refreshes make are priced by the backend's per-call units",
    ),
    "aragora:eso:AppExternalSecrets": Facts((), free=COMPONENT_FREE),
}


class RefreshPolicy(StrEnum):
    """ESO ``spec.refreshPolicy``."""

    PERIODIC = "Periodic"
    ON_CHANGE = "OnChange"


@dataclass(frozen=True)
class SecretValueRef:
    secret_key: str
    """The key in the Kubernetes Secret, i.e. the pod's environment variable."""
    remote_key: str
    remote_property: str | None = None
    """Property inside a JSON secret; ``None`` when the remote secret is the value."""


@dataclass(frozen=True)
class ExternalSecretSpec:
    name: str
    """ExternalSecret and target Secret name; stable, it names the Pulumi resource too."""
    values: Sequence[SecretValueRef]
    refresh_policy: RefreshPolicy = RefreshPolicy.PERIODIC
    await_ready: bool = True
    """Fail `pulumi up` until synced. Off for optional values, whose absence is normal."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """On the ExternalSecret and, through the template, on the Secret it writes.
    A change bumps the spec generation, which is what ``OnChange`` re-syncs on."""
    secret_annotations: Mapping[str, str] = field(default_factory=dict)
    """On the Secret only (through the template), e.g. Reloader's match annotation."""


@dataclass(frozen=True)
class AppExternalSecretsArgs:
    namespace: str
    store_name: pulumi.Input[str]
    refresh_interval: str
    secrets: Sequence[ExternalSecretSpec]
    labels: Mapping[str, str] = field(default_factory=dict)
    """On every ExternalSecret, e.g. ``app.kubernetes.io/part-of``."""


def external_secret_spec(spec: ExternalSecretSpec, store_name: str, refresh_interval: str) -> dict:
    """The ``spec`` of one ExternalSecret (pure, so it can be read without a runtime)."""
    # Orphan: ESO creates and updates the Secret but sets no ownerReference (and
    # removes the one Owner once set), so deleting the ExternalSecret - a
    # removed sync class, a backend switch, `pulumi destroy` - never deletes
    # the app's Secret. Retain: a value gone from the backend stays too.
    target: dict = {"name": spec.name, "creationPolicy": "Orphan", "deletionPolicy": "Retain"}
    secret_annotations = {**dict(spec.annotations), **dict(spec.secret_annotations)}
    if secret_annotations:
        target["template"] = {
            "engineVersion": "v2",
            # Merge keeps the fetched values; the template only adds metadata.
            "mergePolicy": "Merge",
            "metadata": {"annotations": secret_annotations},
        }
    data = []
    for ref in spec.values:
        remote = {"key": ref.remote_key}
        if ref.remote_property is not None:
            remote["property"] = ref.remote_property
        data.append({"secretKey": ref.secret_key, "remoteRef": remote})
    return {
        "refreshInterval": refresh_interval,
        "refreshPolicy": spec.refresh_policy.value,
        "secretStoreRef": {"kind": CLUSTER_SECRET_STORE, "name": store_name},
        "target": target,
        "data": data,
    }


class AppExternalSecrets(pulumi.ComponentResource):
    """Declares the app namespace and the ExternalSecrets that fill its Secrets."""

    namespace: pulumi.Output[str]
    secret_names: list[str]

    def __init__(self, name: str, args: AppExternalSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:eso:AppExternalSecrets", name, None, opts)

        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": args.namespace},
            # The application lives here too: destroying this stack must not take it down.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )

        for spec in args.secrets:
            annotations = dict(spec.annotations)
            annotations.update(
                await_ready_annotations() if spec.await_ready else {"pulumi.com/skipAwait": "true"}
            )
            k8s.apiextensions.CustomResource(
                f"{name}-{spec.name}",
                api_version=API_VERSION,
                kind=EXTERNAL_SECRET,
                metadata={
                    "name": spec.name,
                    "namespace": ns.metadata["name"],
                    "labels": dict(args.labels),
                    "annotations": annotations,
                },
                spec=pulumi.Output.from_input(args.store_name).apply(
                    lambda store, spec=spec: external_secret_spec(spec, store, args.refresh_interval)
                ),
                # The component's own depends_on (the ESO release), passed on: children do not inherit it.
                opts=pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on if opts else None),
            )

        self.namespace = ns.metadata["name"]
        self.secret_names = [s.name for s in args.secrets]
        self.register_outputs({"namespace": self.namespace, "secret_names": self.secret_names})

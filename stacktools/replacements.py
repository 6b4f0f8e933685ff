"""Which input changes make the provider replace a resource (delete and create), per type.

Each backend declares the types it can declare with their replacing inputs
(``Backend.replace_on``, from its provider's schema: "Changing this forces a
new resource"); the Kubernetes types every stack shares are listed here
(identity fields are immutable). A test fails when a stack declares a type
missing from the table. Paths are the camelCase input paths of
``resources.json``; a change at or below a path forces replacement.

Provider resources are listed too: re-targeting a provider (another cluster,
region, project or server) re-targets every resource it manages.
"""

from __future__ import annotations

from infra.backends import REGISTRY

_K8S_IDENTITY = ("apiVersion", "kind", "metadata.name", "metadata.namespace")

KUBERNETES: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Namespace": _K8S_IDENTITY,
    "kubernetes:core/v1:ServiceAccountPatch": _K8S_IDENTITY,
    "kubernetes:external-secrets.io/v1:ClusterSecretStore": _K8S_IDENTITY,
    "kubernetes:external-secrets.io/v1:ExternalSecret": _K8S_IDENTITY,
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": _K8S_IDENTITY,
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": (*_K8S_IDENTITY, "roleRef"),
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
    "pulumi:providers:kubernetes": ("context", "kubeconfig", "cluster"),
}

REPLACE_ON: dict[str, tuple[str, ...]] = {**KUBERNETES, **{t: p for b in REGISTRY.values() for t, p in b.replace_on.items()}}


def forces_replacement(type_: str, path: str) -> bool:
    """True when changing input ``path`` of a ``type_`` resource replaces it."""
    return any(path == p or path.startswith(f"{p}.") or path.startswith(f"{p}[") for p in REPLACE_ON.get(type_, ()))

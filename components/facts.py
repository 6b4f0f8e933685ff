"""What the tooling needs to know of a resource type, declared beside what declares the type.

A ``Facts`` record per Pulumi type token: the inputs whose change makes the
provider replace the resource, what deleting one does to live values, whether
it gives ESO access (the store waits for it), which inputs must be unique where
it lives, and its role in the monthly cost. Component modules that declare
shared (Kubernetes, ESO) resources publish ``FACTS = {type: Facts(...)}``;
each backend publishes the facts of its provider's types in its ``Backend``
record. The plan diff, the replacement table, the mocks and the cost estimate
read these, so no tool copies a type string.

Standard library only: importable by the policy pack's virtualenv and by
tools that never declare anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

K8S_IDENTITY: tuple[str, ...] = ("apiVersion", "kind", "metadata.name", "metadata.namespace")
"""A Kubernetes object's identity fields: changing one makes it another object (the provider replaces it)."""
COMPONENT_FREE = "a component: it only groups its children in Pulumi's state, each decided on its own"
"""The cost decision of every component type: it creates nothing itself."""
KUBERNETES_OBJECT_FREE = "a Kubernetes object: kept by the cluster's API server, no per-object price (the cluster is the platform's)"


class CostRole(StrEnum):
    """How a resource shows in the monthly cost beside what it stores (``Facts.billed``)."""

    NONE = ""
    PROVIDER_CALLS = "provider-calls"
    """Its remote keys are read from the backend every refresh: the backend's billed API calls."""


@dataclass(frozen=True)
class Facts:
    """One resource type, as the tooling must know it."""

    replace_on: tuple[str, ...]
    """Input paths whose change replaces the resource (the provider's "forces new resource")."""
    data_loss: str = ""
    """What deleting one does to the values it holds or decrypts (the diff's note); "" when nothing."""
    grant: bool = False
    """It gives ESO access: the store must depend on every one the stack declares."""
    unique_on: tuple[str, ...] = ()
    """Inputs unique where the object lives: a replacement keeping them collides with the old object."""
    billed: Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], Mapping[str, float]] | None = None
    """``(inputs, resources)``: one resource's inputs and every resource of the plan (what it applies to,
    e.g. the secrets in a Config rule's scope) -> what it bills per month, in units of the backend's price sheet."""
    cost_role: CostRole = CostRole.NONE
    free: str = ""
    """Why it costs nothing: the cost estimate's decision for a type that bills no unit ("" when it bills,
    or when its backend's price sheet decides)."""
    mock: Callable[[Any], tuple[str, dict[str, Any]] | None] | None = None
    """Offline plan: ``MockRequest -> (id, outputs)`` the provider would compute; None: echo the inputs."""


def of_modules(*modules: Any) -> dict[str, Facts]:
    """The union of the ``FACTS`` tables of ``modules``."""
    return {t: f for m in modules for t, f in getattr(m, "FACTS", {}).items()}


FACTS = {
    # Re-targeting the Kubernetes provider (another cluster) re-targets every object it manages.
    "pulumi:providers:kubernetes": Facts(("context", "kubeconfig", "cluster"), free="a provider configuration in Pulumi's state: nothing is created"),
    "pulumi:pulumi:Stack": Facts((), free="Pulumi's own record of the stack: nothing is created in a cloud or a cluster"),
}
"""The Kubernetes provider and the stack itself, which every stack declares (``infra/stack.py``, Pulumi) beside the shared components."""


def shared() -> dict[str, Facts]:
    """The facts of every type the shared components (the modules ``components/*.py``) declare.

    Sub-packages (``components/aws``, ...) are one backend's: their facts are
    that backend's (``Backend.resources``), so an AWS plan never imports GCP's.
    """
    import importlib
    import pkgutil

    package = importlib.import_module(__name__.rsplit(".", 1)[0])
    modules = [importlib.import_module(f"{package.__name__}.{m.name}") for m in pkgutil.iter_modules(package.__path__) if not m.ispkg]
    return of_modules(*modules)

"""What every backend hands the stack: one typed, frozen declaration."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from infra.catalog import SecretEntry


@dataclass(frozen=True)
class RemoteRef:
    """Where an ExternalSecret reads one value: ``remoteRef.key`` and, in a JSON secret, ``property``."""

    key: str
    property: str | None = None


@dataclass(frozen=True)
class Declared:
    """A backend's cloud side, declared, and what the rest of the stack needs from it."""

    store_name: str
    """Name of the ClusterSecretStore."""
    store_provider: dict[str, Any]
    """The store's ``spec.provider`` block, from the backend's pure ``store_provider(...)``."""
    remote_ref: Callable[[SecretEntry], RemoteRef]
    """How a catalog entry maps to a remote key in this backend."""
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """For ESO's service account (IRSA role ARN, GCP service account)."""
    grants: tuple[pulumi.Resource, ...] = ()
    """Access that must exist before the store is created, or ESO fails to validate it."""
    outputs: Mapping[str, pulumi.Input[Any]] = field(default_factory=dict)
    """Stack outputs of this backend."""
    egress_ports: tuple[int, ...] = (443,)
    """TCP ports of the backend's API: the ESO controller's NetworkPolicy allows egress to these."""

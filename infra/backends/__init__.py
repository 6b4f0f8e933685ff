"""One module per secret backend; each exposes ``Backend(cfg, k8s_provider)``.

A backend declares its cloud side (containers, identity, access) and tells the
stack what ``SecretBackend`` lists. Only the selected backend's module, and so
only its provider SDK, is imported.
"""

from __future__ import annotations

import importlib
from typing import Protocol

import pulumi
import pulumi_kubernetes as k8s

from infra.catalog import Layout
from infra.config import Backend, StackConfig


class SecretBackend(Protocol):
    store_name: str
    """Name of the ClusterSecretStore the ExternalSecrets reference."""
    layout: Layout
    """How catalog entries map to remote keys."""
    store_provider: pulumi.Output[dict]
    """The ClusterSecretStore ``spec.provider`` block."""
    service_account_annotations: dict
    """Annotations for ESO's service account (IRSA role, GCP service account)."""
    grants: list[pulumi.Resource]
    """Access that must exist before the store is created."""

    def __init__(self, cfg: StackConfig, k8s_provider: k8s.Provider) -> None: ...

    def export(self) -> None:
        """Stack outputs of this backend."""


def tags(cfg: StackConfig) -> dict[str, str]:
    return {"app": "aragora", "environment": cfg.environment, "managed-by": "pulumi", "pulumi-project": "aragora-secrets"}


def load(backend: Backend) -> type[SecretBackend]:
    """The ``Backend`` class of ``infra.backends.<name>``."""
    return importlib.import_module(f"infra.backends.{backend.value}").Backend

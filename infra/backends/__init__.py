"""One module per secret backend; each exposes ``Backend(cfg, k8s_provider)``.

A backend declares its cloud side (containers, identity, access) and tells the
stack four things: ``store_name``, ``layout`` (how the catalog maps to remote
keys), ``store_provider`` (the ClusterSecretStore ``spec.provider`` block) and
``service_account_annotations`` (for ESO's service account). Only the selected
backend's module, and so only its provider SDK, is imported.
"""

from __future__ import annotations

import importlib
from typing import Any

from infra.config import Backend, StackConfig


def tags(cfg: StackConfig) -> dict[str, str]:
    return {"app": "aragora", "environment": cfg.environment, "managed-by": "pulumi", "pulumi-project": "aragora-secrets"}


def load(backend: Backend) -> Any:
    """The ``Backend`` class of ``infra.backends.<name>``."""
    return importlib.import_module(f"infra.backends.{backend.value}").Backend

"""The secret backends. ``REGISTRY`` is the one place that lists them.

Each backend is a sub-package with two halves:

- ``settings.py``: its config keys as one frozen pydantic model (a
  ``BackendSettings`` subclass), importable without any provider SDK;
- ``declare.py``: ``declare(environment, settings, catalog, k8s_provider) -> Declared``,
  which declares its cloud side through its components. Only the selected
  backend's ``declare`` module, and so only its provider SDK, is imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from enum import StrEnum

from infra.backends.aws.settings import AwsSettings
from infra.backends.gcp.settings import GcpSettings
from infra.backends.vault.settings import VaultSettings
from infra.fields import BackendSettings

REGISTRY: dict[str, type[BackendSettings]] = {s.name: s for s in (AwsSettings, VaultSettings, GcpSettings)}

BackendName = StrEnum("BackendName", {name.upper(): name for name in REGISTRY})
"""The values of the ``backend`` config key."""


def declarer(settings: BackendSettings) -> Callable:
    """``declare`` of the backend these settings belong to."""
    return importlib.import_module(f"infra.backends.{settings.name}.declare").declare

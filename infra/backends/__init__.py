"""The secret backends, discovered: every sub-package with a ``BACKEND`` is one.

Each backend is a sub-package ``infra/backends/<name>/``:

- ``__init__.py``: ``BACKEND = Backend(...)`` (``base.Backend``), the contract
  the stack, the tooling, CI and the tests read; importable without any
  provider SDK;
- ``settings.py``: its config keys as one frozen pydantic model;
- ``declare.py``: ``declare(environment, settings, catalog, k8s_provider) -> Declared``,
  which turns settings into ``components/`` arguments. Only the selected
  backend's ``declare`` module, and so only its provider SDK, is imported.

Nothing else lists the backends: adding the package adds the backend.
"""

from __future__ import annotations

import importlib
import pkgutil
from enum import StrEnum

from infra.backends.base import Backend


def _discover() -> dict[str, Backend]:
    found = {}
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg:
            backend = getattr(importlib.import_module(f"{__name__}.{module.name}"), "BACKEND", None)
            if isinstance(backend, Backend):
                found[backend.name] = backend
    return dict(sorted(found.items()))


REGISTRY: dict[str, Backend] = _discover()
"""Every backend, by its ``backend`` config value."""

BackendName = StrEnum("BackendName", {name.upper(): name for name in REGISTRY})
"""The values of the ``backend`` config key."""


def backend_of(settings) -> Backend:
    """The backend these settings belong to."""
    return REGISTRY[settings.name]

"""The secret backends, discovered by name: every sub-package is one, imported only when used.

Each backend is a sub-package ``infra/backends/<name>/`` (see ``base``):

- ``__init__.py``: ``BACKEND = Backend(...)``, the small core (settings, its
  ``Pulumi.yaml`` keys, resource facts); importable without any provider SDK;
- ``settings.py``: its config keys as one frozen pydantic model;
- ``declare.py``: ``declare(environment, settings, catalog, k8s_provider, eso) -> Declared``;
- optional capabilities, one file each (``workspace.py``, ``reader.py``,
  ``access.py``, ``ci.py``, ``prices.json``), loaded when a tool asks.

Listing the backends imports none of them (``names()`` reads the package
directory): a stack imports its own backend and no other, and a tool the
one its stack selects. Nothing else lists the backends: adding the package
adds the backend.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from enum import StrEnum

from infra.backends.base import (
    ACCESS_DOCUMENTS,
    CI_CREDENTIALS,
    PRICE_SHEET,
    ROTATION_READER,
    STAMP_METADATA,
    VALUE_READER,
    WORKSPACE,
    Backend,
    Capability,
    CapabilityMissing,
    capability,
)

__all__ = [
    "ACCESS_DOCUMENTS",
    "CI_CREDENTIALS",
    "PRICE_SHEET",
    "REGISTRY",
    "ROTATION_READER",
    "STAMP_METADATA",
    "VALUE_READER",
    "WORKSPACE",
    "Backend",
    "BackendName",
    "Capability",
    "CapabilityMissing",
    "backend_of",
    "capability",
    "load",
    "names",
]


def names() -> tuple[str, ...]:
    """Every backend's name, sorted: the sub-packages of this package, none of them imported."""
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg and not m.name.startswith("_")))


@functools.cache
def load(name: str) -> Backend:
    """The backend ``name``: its package imported now (and only it)."""
    if name not in names():
        raise KeyError(name)
    backend = getattr(importlib.import_module(f"{__name__}.{name}"), "BACKEND", None)
    if not isinstance(backend, Backend) or backend.name != name:
        raise TypeError(f"{__name__}.{name} defines no BACKEND named {name!r} (base.Backend)")
    return backend


class _Registry(Mapping[str, Backend]):
    """``{name: Backend}`` of every backend, each imported on first access (iterating values imports all:
    for tests and docs, never for a stack's own run)."""

    def __getitem__(self, name: str) -> Backend:
        return load(name)

    def __iter__(self) -> Iterator[str]:
        return iter(names())

    def __len__(self) -> int:
        return len(names())

    def __contains__(self, name: object) -> bool:
        return name in names()


REGISTRY: Mapping[str, Backend] = _Registry()
"""Every backend, by its ``backend`` config value, loaded lazily."""

BackendName = StrEnum("BackendName", {name.upper(): name for name in names()})
"""The values of the ``backend`` config key."""


def backend_of(settings) -> Backend:
    """The backend these settings belong to."""
    return load(settings.name)


def facts(backend: Backend | None = None) -> dict:
    """Type -> ``Facts`` of what a stack of ``backend`` can declare: the shared components' and the backend's.
    ``None``: every backend's (a plan diff without its stack, the tests)."""
    from components.facts import shared

    table = shared()
    for one in [backend] if backend is not None else [load(n) for n in names()]:
        table.update(one.resources)
    return table

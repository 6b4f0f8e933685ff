"""Which input changes make the provider replace a resource (delete and create), per type.

Every type declares its replacing inputs where it is declared: each backend in
its ``Backend.resources`` (from its provider's schema: "Changing this forces a
new resource"), the shared Kubernetes and ESO types in their component's
``FACTS`` (identity fields are immutable). A test fails when a stack declares a
type no one describes. Paths are the camelCase input paths of
``resources.json``; a change at or below a path forces replacement.

Provider resources are described too: re-targeting a provider (another
cluster, region, project or server) re-targets every resource it manages.
"""

from __future__ import annotations

from collections.abc import Mapping

from components.facts import Facts
from infra.backends import facts


def forces_replacement(type_: str, path: str, table: Mapping[str, Facts] | None = None) -> bool:
    """True when changing input ``path`` of a ``type_`` resource replaces it (``table``: the stack's
    ``infra.backends.facts(backend)``; None: every backend's)."""
    table = facts() if table is None else table
    known = table.get(type_)
    return known is not None and any(
        path == p or path.startswith(f"{p}.") or path.startswith(f"{p}[") for p in known.replace_on
    )


def __getattr__(name: str):
    # REPLACE_ON, for readers of the whole table (tests): built on first use, importing every backend.
    if name == "REPLACE_ON":
        return {t: f.replace_on for t, f in facts().items()}
    raise AttributeError(name)

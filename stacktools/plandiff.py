"""What `pulumi preview --diff` would show between two rendered plans.

Both sides are desired states (``resources.json`` of two ``--out`` runs, e.g.
the pull request's base and head), compared by URN: resources to create, to
delete, and to update or replace with the changed input paths, old → new.
JSON documents carried as strings (IAM policies) are compared parsed, so key
order is no change; secret values stay ``[secret]`` on both sides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_OPTIONS = ("protect", "retain_on_delete", "parent", "provider")
_MISSING = object()


@dataclass
class Change:
    urn: str
    type: str
    name: str
    paths: list[tuple[str, Any, Any]] = field(default_factory=list)
    """``(path, old, new)``; a missing side is ``None`` with the path marked."""


@dataclass
class Diff:
    create: list[dict[str, Any]]
    delete: list[dict[str, Any]]
    update: list[Change]

    @property
    def has_changes(self) -> bool:
        return bool(self.create or self.delete or self.update)


def _parsed(value: Any) -> Any:
    """A string holding a JSON object or array, parsed; anything else as is."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _walk(path: str, old: Any, new: Any, out: list[tuple[str, Any, Any]]) -> None:
    old, new = _parsed(old), _parsed(new)
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _walk(f"{path}.{key}" if path else key, old.get(key, _MISSING), new.get(key, _MISSING), out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (o, n) in enumerate(zip(old, new, strict=True)):
            _walk(f"{path}[{i}]", o, n, out)
    elif old != new:
        out.append((path, None if old is _MISSING else old, None if new is _MISSING else new))


def diff(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> Diff:
    before = {r["urn"]: r for r in base}
    after = {r["urn"]: r for r in head}
    updates = []
    for urn in sorted(set(before) & set(after)):
        b, a = before[urn], after[urn]
        paths: list[tuple[str, Any, Any]] = []
        _walk("", b.get("inputs", {}), a.get("inputs", {}), paths)
        for option in _OPTIONS:
            if b.get(option) != a.get(option):
                paths.append((f"[{option}]", b.get(option), a.get(option)))
        if sorted(b.get("depends_on", [])) != sorted(a.get("depends_on", [])):
            paths.append(("[depends_on]", sorted(b.get("depends_on", [])), sorted(a.get("depends_on", []))))
        if paths:
            updates.append(Change(urn, a["type"], a["name"], paths))
    return Diff(
        create=[after[u] for u in sorted(set(after) - set(before))],
        delete=[before[u] for u in sorted(set(before) - set(after))],
        update=updates,
    )


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def render_text(d: Diff) -> str:
    lines = []
    for r in d.create:
        lines.append(f"+ {r['type']} {r['name']}")
    for r in d.delete:
        flag = "  (protected: the engine will refuse until unprotected)" if r.get("protect") else ""
        lines.append(f"- {r['type']} {r['name']}{flag}")
    for c in d.update:
        lines.append(f"~ {c.type} {c.name}  (update or replace, as the provider decides)")
        for path, old, new in c.paths:
            lines.append(f"    ~ {path}: {_show(old)} => {_show(new)}")
    summary = f"{len(d.create)} to create, {len(d.update)} to update or replace, {len(d.delete)} to delete"
    lines.append("" if lines else "no changes")
    lines.append(f"Resources: {summary}")
    return "\n".join(lines)

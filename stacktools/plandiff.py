"""What `pulumi preview --diff` would show between two rendered plans.

Both sides are desired states (``resources.json`` of two ``--out`` runs, e.g.
the pull request's base and head), compared by URN: resources to create, to
delete, to update (``~``) or to replace (``+-``, when a changed input forces it:
``replacements.REPLACE_ON``), with the changed input paths, old → new. JSON
documents carried as strings (IAM policies) are compared parsed, so key order
is no change; secret values stay ``[secret]`` on both sides.

Each change also says what it does to live data: a protected resource the
engine will refuse to delete or replace, a retained one left in place, a
removed ExternalSecret (its Secret stays, unsynced), a change to an
``OnChange`` ExternalSecret (it re-reads its value: for the JWT secret, a
logout of every user if the backend holds a new one), a deleted secret or
mount (its values go with it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from infra.backends import REGISTRY
from stacktools.replacements import forces_replacement

_OPTIONS = ("protect", "retain_on_delete", "parent", "provider")
_MISSING = object()


@dataclass
class Change:
    urn: str
    type: str
    name: str
    paths: list[tuple[str, Any, Any]] = field(default_factory=list)
    """``(path, old, new)``; a missing side is ``None`` with the path marked."""
    replace: bool = False
    """A changed input forces the provider to delete and create the resource."""
    notes: list[str] = field(default_factory=list)
    """What the change does to live data, for the reviewer."""


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
            replace = any(not p.startswith("[") and forces_replacement(a["type"], p) for p, _, _ in paths)
            updates.append(Change(urn, a["type"], a["name"], paths, replace, _notes(b, a, replace)))
    return Diff(
        create=[after[u] for u in sorted(set(after) - set(before))],
        delete=[before[u] for u in sorted(set(before) - set(after))],
        update=updates,
    )


# What losing a resource of these types does to the values it holds, as each backend says.
_DATA_LOSS = {t: note for b in REGISTRY.values() for t, note in b.value_types.items()}
_EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"


def _is_on_change(r: dict[str, Any]) -> bool:
    spec = (r.get("inputs") or {}).get("spec")
    return isinstance(spec, dict) and spec.get("refreshPolicy") == "OnChange"


def _removal_notes(r: dict[str, Any], *, replaced: bool) -> list[str]:
    notes = []
    if r.get("protect"):
        notes.append("protected: the engine will refuse until it is unprotected")
    elif r.get("retain_on_delete"):
        notes.append("retained: dropped from the stack, left in place")
    elif r["type"] in _DATA_LOSS:
        notes.append(_DATA_LOSS[r["type"]])
    if r["type"] == _EXTERNAL_SECRET:
        name = (r.get("inputs") or {}).get("metadata", {}).get("name", r["name"])
        notes.append(
            f"the Secret {name} stays (creationPolicy Orphan) " + ("and is re-synced by the new one" if replaced else "but is no longer synced")
        )
    if r["type"].startswith("pulumi:providers:"):
        notes.append("every resource of this provider goes with it")
    return notes


def _notes(old: dict[str, Any], new: dict[str, Any], replace: bool) -> list[str]:
    notes = _removal_notes(old, replaced=True) if replace else []
    if _is_on_change(old) or _is_on_change(new):
        notes.append("re-reads its value now (refreshPolicy OnChange): for the JWT secret, every user is logged out if the backend holds a new one")
    return notes


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
        notes = _removal_notes(r, replaced=False)
        lines.append(f"- {r['type']} {r['name']}" + (f"  ({'; '.join(notes)})" if notes else ""))
    for c in d.update:
        lines.append(f"{'+-' if c.replace else '~'} {c.type} {c.name}" + (f"  ({'; '.join(c.notes)})" if c.notes else ""))
        for path, old, new in c.paths:
            mark = "+-" if not path.startswith("[") and forces_replacement(c.type, path) else "~"
            lines.append(f"    {mark} {path}: {_show(old)} => {_show(new)}")
    replaced = sum(c.replace for c in d.update)
    summary = f"{len(d.create)} to create, {len(d.update) - replaced} to update, {replaced} to replace, {len(d.delete)} to delete"
    lines.append("" if lines else "no changes")
    lines.append(f"Resources: {summary}")
    return "\n".join(lines)

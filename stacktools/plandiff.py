"""What `pulumi preview --diff` would show between two rendered plans.

Both sides are desired states (``resources.json`` of two ``--out`` runs, e.g.
the pull request's base and head), compared by URN: resources to create, to
delete, to update (``~``) or to replace (``+-``, when a changed input forces it:
``replacements.REPLACE_ON``), with the changed input paths, old → new. JSON
documents carried as strings (IAM policies) are compared parsed, so key order
is no change; secret values stay ``[secret]`` on both sides. Lists of objects
are compared element by element by their natural key (``secretKey``,
``name``, ``alert``, ``Sid``, ...), so an added value reads as one added
element; nothing is cut: values print in full and multi-line strings as a
unified line diff.

Each change also says what it does to live data: a protected resource the
engine will refuse to delete or replace, a retained one left in place, a
removed ExternalSecret (its Secret stays, unsynced), a change to an
``OnChange`` ExternalSecret (it re-reads its value: for the JWT secret, a
logout of every user if the backend holds a new one), a deleted secret or
mount (its values go with it), and a required or session value added to an
ExternalSecret that ``pulumi up`` waits for (put it in the backend first).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.eso_api import EXTERNAL_SECRET_TYPE
from components.facts import Facts
from infra.backends import facts
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
    object_name: str = ""
    """``metadata.name`` of a Kubernetes object (its name in the cluster)."""
    awaited: bool = False
    """An ExternalSecret ``pulumi up`` waits for."""


@dataclass
class Diff:
    create: list[dict[str, Any]]
    delete: list[dict[str, Any]]
    update: list[Change]
    facts: Mapping[str, Facts] = field(default_factory=dict, repr=False)
    """What each type is (replacing inputs, data-loss notes): the stack's backend's and the shared components'."""

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


# Fields that name a list element, in order of preference: a list whose elements all carry one
# (uniquely) is compared element by element by it instead of by position.
NATURAL_KEYS = ("secretKey", "alert", "name", "Sid", "key", "path", "record")


def _natural_key(old: list, new: list) -> str | None:
    items = [*old, *new]
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in NATURAL_KEYS:
        if all(isinstance(i.get(key), str) for i in items) and all(
            len({i[key] for i in side}) == len(side) for side in (old, new)
        ):
            return key
    return None


def _walk(path: str, old: Any, new: Any, out: list[tuple[str, Any, Any]]) -> None:
    old, new = _parsed(old), _parsed(new)
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _walk(f"{path}.{key}" if path else key, old.get(key, _MISSING), new.get(key, _MISSING), out)
    elif isinstance(old, list) and isinstance(new, list):
        key = _natural_key(old, new)
        if key:
            before, after = {i[key]: i for i in old}, {i[key]: i for i in new}
            for name in [*before, *(n for n in after if n not in before)]:
                _walk(f"{path}[{key}={name}]", before.get(name, _MISSING), after.get(name, _MISSING), out)
        else:
            for i in range(max(len(old), len(new))):
                _walk(f"{path}[{i}]", old[i] if i < len(old) else _MISSING, new[i] if i < len(new) else _MISSING, out)
    elif old is not new and old != new:
        out.append((path, None if old is _MISSING else old, None if new is _MISSING else new))


def diff(base: list[dict[str, Any]], head: list[dict[str, Any]], table: Mapping[str, Facts] | None = None) -> Diff:
    """``table``: ``infra.backends.facts(<the stack's backend>)``; None reads every backend's (tests, tools without a stack)."""
    table = facts() if table is None else table
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
            replace = any(not p.startswith("[") and forces_replacement(a["type"], p, table) for p, _, _ in paths)
            meta = (a.get("inputs") or {}).get("metadata") or {}
            name = meta.get("name", a["name"]) if isinstance(meta, dict) else a["name"]
            updates.append(Change(urn, a["type"], a["name"], paths, replace, _notes(b, a, replace, table), name, _awaited(a)))
    return Diff(
        create=[after[u] for u in sorted(set(after) - set(before))],
        delete=[before[u] for u in sorted(set(before) - set(after))],
        update=updates,
        facts=table,
    )


_EXTERNAL_SECRET = EXTERNAL_SECRET_TYPE


def _is_on_change(r: dict[str, Any]) -> bool:
    spec = (r.get("inputs") or {}).get("spec")
    return isinstance(spec, dict) and spec.get("refreshPolicy") == "OnChange"


def _removal_notes(r: dict[str, Any], table: Mapping[str, Facts], *, replaced: bool) -> list[str]:
    notes = []
    if r.get("protect"):
        notes.append("protected: the engine will refuse until it is unprotected")
    elif r.get("retain_on_delete"):
        notes.append("retained: dropped from the stack, left in place")
    elif r["type"] in table and table[r["type"]].data_loss:
        # What losing a resource of this type does to the values it holds, as its declarer says.
        notes.append(table[r["type"]].data_loss)
    if r["type"] == _EXTERNAL_SECRET:
        name = (r.get("inputs") or {}).get("metadata", {}).get("name", r["name"])
        notes.append(
            f"the Secret {name} stays (creationPolicy Orphan) " + ("and is re-synced by the new one" if replaced else "but is no longer synced")
        )
    if r["type"].startswith("pulumi:providers:"):
        notes.append("every resource of this provider goes with it")
    return notes


def _collision(old: dict[str, Any], new: dict[str, Any], table: Mapping[str, Facts]) -> str | None:
    """Why a replacement cannot succeed as planned: the new object takes the old one's unique name
    (the inputs its declarer says must be unique where it lives)."""
    unique = table[new["type"]].unique_on if new["type"] in table else ()
    if not unique:
        return None
    before, after = old.get("inputs") or {}, new.get("inputs") or {}
    if any(before.get(u) != after.get(u) for u in unique):
        return None
    held = ", ".join(f"{u} {json.dumps(after.get(u))}" for u in unique)
    why = "the old one is retained and keeps it" if old.get("retain_on_delete") else "the new one is created before the old one is deleted"
    return f"cannot succeed as planned: both would hold {held} ({why}); remove or rename the old one first"


def _notes(old: dict[str, Any], new: dict[str, Any], replace: bool, table: Mapping[str, Facts]) -> list[str]:
    notes = _removal_notes(old, table, replaced=True) if replace else []
    collision = _collision(old, new, table) if replace else None
    if collision:
        notes.append(collision)
    if _is_on_change(old) or _is_on_change(new):
        notes.append("re-reads its value now (refreshPolicy OnChange): for the JWT secret, every user is logged out if the backend holds a new one")
    return notes


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    return json.dumps(value, sort_keys=True)


def _lines(old: Any, new: Any) -> list[str] | None:
    """A unified line diff when either side is a multi-line string (a policy in HCL, a manifest)."""
    if not (isinstance(old, str) and "\n" in old) and not (isinstance(new, str) and "\n" in new):
        return None
    a = old.splitlines() if isinstance(old, str) else []
    b = new.splitlines() if isinstance(new, str) else []
    return [line for line in difflib.unified_diff(a, b, lineterm="", n=2)][2:]


def _path_line(change_type: str, path: str, old: Any, new: Any, table: Mapping[str, Facts]) -> list[str]:
    mark = "+-" if not path.startswith("[") and forces_replacement(change_type, path, table) else "~"
    if old is None and new is not None:
        mark = "+" if mark == "~" else mark
        head = f"    {mark} {path}: {_show(new)}"
    elif new is None and old is not None:
        mark = "-" if mark == "~" else mark
        head = f"    {mark} {path}: {_show(old)}"
    else:
        head = f"    {mark} {path}: {_show(old)} => {_show(new)}"
    lines = _lines(old, new)
    if lines is None:
        return [head]
    return [f"    {mark} {path}:", *(f"        {line}" for line in lines)]


def awaited_additions(d: Diff) -> list[tuple[str, str, str]]:
    """``(ExternalSecret, secretKey, remote key)`` of every value an awaited ExternalSecret gains:
    ``pulumi up`` waits until the backend holds it."""
    found = []
    for r in d.create:
        if r["type"] == _EXTERNAL_SECRET and _awaited(r):
            for item in (r["inputs"].get("spec") or {}).get("data") or []:
                found.append((r["inputs"]["metadata"]["name"], item.get("secretKey"), _remote(item)))
    for c in d.update:
        if c.type == _EXTERNAL_SECRET and c.awaited:
            for path, old, new in c.paths:
                if path.startswith("spec.data[secretKey=") and old is None and isinstance(new, dict):
                    found.append((c.object_name, new.get("secretKey"), _remote(new)))
    return found


def _awaited(r: dict[str, Any]) -> bool:
    annotations = ((r.get("inputs") or {}).get("metadata") or {}).get("annotations") or {}
    return annotations.get("pulumi.com/skipAwait") != "true"


def _remote(item: dict[str, Any]) -> str:
    ref = item.get("remoteRef") or {}
    return f"{ref.get('key')}" + (f" / {ref['property']}" if ref.get("property") else "")


def render_text(d: Diff, outputs: tuple[dict[str, Any], dict[str, Any]] | None = None, stack: str | None = None) -> str:
    lines = []
    for r in d.create:
        lines.append(f"+ {r['type']} {r['name']}")
    for r in d.delete:
        notes = _removal_notes(r, d.facts, replaced=False)
        lines.append(f"- {r['type']} {r['name']}" + (f"  ({'; '.join(notes)})" if notes else ""))
    for c in d.update:
        lines.append(f"{'+-' if c.replace else '~'} {c.type} {c.name}" + (f"  ({'; '.join(c.notes)})" if c.notes else ""))
        for path, old, new in c.paths:
            lines += _path_line(c.type, path, old, new, d.facts)
    waits = awaited_additions(d)
    if waits:
        lines.append("")
        lines.append("Values `pulumi up` will wait for (the ExternalSecret stays not Ready until the backend holds them):")
        lines += [f"    {es} {key}: {remote}" for es, key, remote in waits]
        lines.append(f"    put them in the backend first, then check: make check-values STACK={stack or '<stack>'}")
    if outputs is not None:
        changed: list[tuple[str, Any, Any]] = []
        _walk("", outputs[0], outputs[1], changed)
        if changed:
            lines.append("")
            lines.append("Outputs:")
            for path, old, new in changed:
                lines += _path_line("", path, old, new, d.facts)
    replaced = sum(c.replace for c in d.update)
    summary = f"{len(d.create)} to create, {len(d.update) - replaced} to update, {replaced} to replace, {len(d.delete)} to delete"
    lines.append("" if lines else "no changes")
    lines.append(f"Resources: {summary}")
    return "\n".join(lines)

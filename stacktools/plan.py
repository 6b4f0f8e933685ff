"""Offline plan: run the real stack program under Pulumi's mock runtime.

    python -m stacktools.plan --stack <stack> [--config-file FILE] [--out DIR]
    python -m stacktools.plan --config-file examples/<backend>/Pulumi.<stack>.yaml

There is no Pulumi CLI or cloud here, so this does what ``pulumi preview``
would do up to the provider calls (``recorder``): it applies ``Pulumi.yaml``
defaults and the stack's config the way the CLI does, runs ``infra/`` exactly
as the language host runs it, records every resource registration and prints
the resource tree. With ``--out`` it writes ``resources.json``,
``outputs.json``, ``cost.json``, ``manifests/``, ``policies/`` and ``graph.dot``;
either way it prints the monthly cost estimate (``stacktools.cost``). Without
``--stack``, a ``--config-file`` named ``Pulumi.<stack>.yaml`` names the stack.

With ``--diff BASE_DIR`` (an earlier ``--out``) it prints what changed
against that plan instead of the tree, and how the monthly cost changes.

Exit status: 0 rendered (with ``--diff``: no changes), 1 changes (``--diff``
only), 2 invalid config or unreadable base (one line on stderr, nothing declared).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import yaml

from infra.backends import ACCESS_DOCUMENTS, CapabilityMissing, capability, facts, load
from infra.config import check_separation, from_stack_file
from infra.fields import PROJECT, ConfigError
from infra.stackfiles import project_directory, stack_of
from stacktools import cli, cost, graph, matrix, plandiff
from stacktools.recorder import KEY_FILE, Plan, render

# --- output -------------------------------------------------------------------------


def tree(plan: Plan) -> str:
    children: dict[str | None, list[dict[str, Any]]] = {}
    for r in plan.resources:
        children.setdefault(r["parent"], []).append(r)
    roots = [r for r in plan.resources if r["type"] == "pulumi:pulumi:Stack"]
    root_urn = roots[0]["urn"] if roots else None
    rows = [("", "pulumi:pulumi:Stack", f"{PROJECT}-{plan.stack}", "")]

    def walk(parent: str | None, prefix: str) -> None:
        kids = children.get(parent, [])
        for i, r in enumerate(kids):
            last = i == len(kids) - 1
            flags = ", ".join(f for f, on in (("protect", r["protect"]), ("retain", r["retain_on_delete"])) if on)
            rows.append((prefix + ("└─ " if last else "├─ "), r["type"], r["name"], f"[{flags}]" if flags else ""))
            walk(r["urn"], prefix + ("   " if last else "│  "))

    walk(root_urn, "")
    width = max(len(p) + len(t) for p, t, _, _ in rows) + 2
    lines = [f"Previewing update ({plan.stack}) — offline, provider calls mocked", "", f"     {'Type':<{width}}Name"]
    for prefix, type_, name, flags in rows:
        lines.append(f" +   {prefix + type_:<{width}}{name} {flags}".rstrip())
    count = len([r for r in plan.resources if r["type"] != "pulumi:pulumi:Stack"])
    lines += ["", "Resources:", f"    + {count + 1} to create ({count} resources and the stack)"]
    return "\n".join(lines)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


_MANIFEST_HEAD = ("apiVersion", "kind", "metadata")


def _manifest(r: dict[str, Any]) -> dict[str, Any]:
    """The object as kubectl would show it: apiVersion, kind, metadata first, then the rest."""
    body = _sorted(r["inputs"])
    return {**{k: body[k] for k in _MANIFEST_HEAD if k in body}, **{k: v for k, v in body.items() if k not in _MANIFEST_HEAD}}


def _manifest_filename(m: dict[str, Any]) -> str:
    meta = m.get("metadata", {})
    parts = [m["kind"].lower(), meta.get("namespace"), meta.get("name")]
    return "-".join(p for p in parts if p) + ".yaml"


def policy_documents(plan: Plan) -> dict[str, str]:
    """``{file name: text}`` for every access document the stack declares, as its own backend writes them
    (a backend without the capability writes none: the plan is still whole)."""
    try:
        documents = capability(load(plan.setting("backend")), ACCESS_DOCUMENTS)
    except CapabilityMissing:
        return {}
    return documents(plan.stack, plan.resources)


def estimate_of(plan: Plan) -> cost.Estimate:
    return cost.estimate(plan.resources, plan.outputs["backend"])


def _manifest_dirs(plan: Plan, manifests: Path):
    """Where a Kubernetes object's manifest goes: ``manifests/``, or with several clusters
    (``clusters``) ``manifests/<kubeContext>/``, so one cluster's objects never overwrite another's."""
    contexts = {r["urn"]: str(r["inputs"].get("context") or "") for r in plan.of_type("pulumi:providers:kubernetes")}
    if len(contexts) <= 1:
        return lambda r: manifests

    def where(r: dict) -> Path:
        directory = manifests / contexts.get(str(r.get("provider") or "").rsplit("::", 1)[0], "").replace("/", "_")
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    return where


def write(plan: Plan, out: Path) -> str | None:
    """Write every plan file to ``out``; returns a note when graph.svg could not be drawn."""
    (out / "manifests").mkdir(parents=True, exist_ok=True)
    (out / "policies").mkdir(parents=True, exist_ok=True)
    (out / "resources.json").write_text(json.dumps(plan.resources, indent=2, sort_keys=True) + "\n")
    (out / "outputs.json").write_text(json.dumps(plan.outputs, indent=2, sort_keys=True) + "\n")
    (out / "cost.json").write_text(json.dumps(estimate_of(plan).to_json(), indent=2, sort_keys=True) + "\n")
    where = _manifest_dirs(plan, out / "manifests")
    for r in plan.k8s_objects():
        m = _manifest(r)
        (where(r) / _manifest_filename(m)).write_text(yaml.safe_dump(m, sort_keys=False))
    for r in plan.of_type("kubernetes:helm.sh/v3:Release"):
        i = r["inputs"]
        release = {
            "chart": i.get("chart"),
            "version": i.get("version"),
            "repository": (i.get("repositoryOpts") or {}).get("repo"),
            "namespace": i.get("namespace"),
            "values": _sorted(i.get("values", {})),
        }
        (where(r) / f"helm-release-{i.get('name', r['name'])}.yaml").write_text(yaml.safe_dump(release, sort_keys=False))
    for fname, text in policy_documents(plan).items():
        (out / "policies" / fname).write_text(text)
    return graph.write(plan.resources, f"{PROJECT}/{plan.stack}", out)


def _base_file(base_dir: Path, name: str, kind: type, *, required: bool = False) -> Any:
    """A JSON file of an earlier ``--out``: None when optional and absent, else its value of ``kind``."""
    path = base_dir / name
    if not required and not path.exists():
        return None
    try:
        if path.stat().st_size > MAX_BASE_BYTES:
            raise ValueError(f"larger than {MAX_BASE_BYTES // 2**20} MiB")
        value = json.loads(path.read_text())
        if not isinstance(value, kind):
            raise ValueError(f"not a JSON {kind.__name__}")
    except (OSError, ValueError, RecursionError) as err:
        raise ConfigError(f"--diff: cannot read {base_dir}/{name} ({type(err).__name__})") from None
    return value


MAX_BASE_BYTES = 64 * 2**20


def _check_base_cost(base_dir: Path, cost_json: dict | None) -> None:
    """A base cost.json holds finite numbers where the cost diff reads them (else one line, exit 2)."""
    for field in ("monthlyCost", "providerCallsPerMonth"):
        value = (cost_json or {}).get(field, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"--diff: cannot read {base_dir}/cost.json ({field} is not a finite number)")


def _check_base_resources(base_dir: Path, resources: list) -> None:
    """Every entry of a base resources.json is a resource record (a map with a string urn and type, a map of inputs)."""
    for r in resources:
        if not (isinstance(r, dict) and isinstance(r.get("urn"), str) and isinstance(r.get("type"), str) and isinstance(r.get("inputs", {}), dict)):
            raise ConfigError(f"--diff: cannot read {base_dir}/resources.json (an entry is not a resource record)")


def _fingerprint_key(args: argparse.Namespace) -> bytes | None:
    """The key secret inputs are fingerprinted under: the base plan's (so a diff compares like with like),
    else a new random one when the plan is written, else none (``[secret]`` only)."""
    if args.diff:
        return _read_key("--diff", args.diff)
    if args.out:
        # Writing into an earlier --out keeps its key: the same inputs keep their fingerprints.
        return _read_key("--out", args.out) or secrets.token_bytes(32)
    return None


def _read_key(option: str, directory: Path) -> bytes | None:
    path = directory / KEY_FILE
    if not path.exists():
        return None
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{option}: cannot read {directory}/{KEY_FILE} (allowed: the 64-hex-digit key an earlier --out wrote)")
    return key


def _write_key(out: Path, key: bytes | None) -> None:
    if key is None:
        return
    path = out / KEY_FILE
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.plan", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--stack", help="stack name; default: from a --config-file named Pulumi.<stack>.yaml, else the first of the first deploy wave"
    )
    parser.add_argument("--config-file", type=Path, help="read the stack config from FILE instead of Pulumi.<stack>.yaml")
    parser.add_argument(
        "--out", type=Path, help="write resources.json, outputs.json, cost.json, manifests/, policies/, graph.dot to DIR"
    )
    parser.add_argument("--diff", type=Path, metavar="BASE_DIR", help="show changes against an earlier --out directory")
    parser.add_argument("--print-kube-context", action="store_true", help="print the stack's kubeContext (one line per cluster, home first) and exit (CI)")
    args = parser.parse_args(argv)
    args.stack = args.stack or (stack_of(args.config_file) if args.config_file else None)
    if not args.stack and args.config_file:
        parser.error("--stack is required unless --config-file is named Pulumi.<stack>.yaml")
    if not args.stack:
        # The first stack CI deploys (lowest deployWave): never production by accident of the alphabet.
        try:
            args.stack = matrix.stacks()[0].environment
        except (ConfigError, IndexError) as err:
            print(f"error: --stack: no stack to default to ({err or 'no Pulumi.<stack>.yaml'})", file=sys.stderr)
            return 2
    if args.print_kube_context:
        # CI selects the cluster with this output: it is printed only once the whole config is valid
        # and separate from its neighbours, and a valid context is one line by its rule.
        try:
            cfg = from_stack_file(args.stack, args.config_file)
            check_separation(cfg, project_directory(args.config_file))
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        # One line per cluster, home first: a single-cluster stack prints its one context, as always.
        for context in [c.common.kube_context for c in cfg.clusters] or [cfg.common.kube_context]:
            print(context)
        return 0
    try:
        if args.out is not None and (args.out.exists() or args.out.is_symlink()) and not args.out.is_dir():
            raise ConfigError(f"--out: {args.out} exists and is not a directory (allowed: a directory, new or earlier --out)")
        base = _base_file(args.diff, "resources.json", list, required=True) if args.diff else None
        # outputs.json and cost.json are optional: a base from an older version has neither.
        base_outputs = _base_file(args.diff, "outputs.json", dict) if args.diff else None
        base_cost = _base_file(args.diff, "cost.json", dict) if args.diff else None
        if args.diff:
            _check_base_resources(args.diff, base)
            _check_base_cost(args.diff, base_cost)
        key = _fingerprint_key(args)
        plan = render(args.stack, args.config_file, fingerprint_key=key)
        if args.out:
            try:
                note = write(plan, args.out)
                _write_key(args.out, key)
            except OSError as err:
                raise ConfigError(f"--out: cannot write {args.out} ({type(err).__name__}: {err.strerror or err})") from None
            if note:
                print(note, file=sys.stderr)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if base is not None:
        changes = plandiff.diff(base, plan.resources, facts(load(plan.setting("backend"))))
        outputs = (base_outputs, plan.outputs) if base_outputs is not None else None
        print(plandiff.render_text(changes, outputs, args.stack))
        print(cost.render_change(base_cost, estimate_of(plan)))
        return 1 if changes.has_changes or (base_outputs is not None and base_outputs != plan.outputs) else 0
    print(tree(plan))
    print()
    print(cost.render_text(estimate_of(plan)))
    if args.out:
        print(f"\nwrote {args.out}/resources.json, outputs.json, cost.json, manifests/, policies/, graph.dot")
    return 0


if __name__ == "__main__":
    cli.run(main)

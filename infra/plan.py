"""Offline plan: run the real stack program under Pulumi's mock runtime.

    python -m infra.plan --stack staging [--config-file FILE] [--out DIR]

There is no Pulumi CLI or cloud here, so this does what ``pulumi preview``
would do up to the provider calls: it applies ``Pulumi.yaml`` defaults and the
stack's config the way the CLI does, runs ``infra/`` exactly as the language
host runs it (``runpy`` on the ``main`` path, cwd = project root), records
every resource registration and prints the resource tree. With ``--out`` it
writes ``resources.json``, ``outputs.json``, ``manifests/`` and ``policies/``.

With ``--diff BASE_DIR`` (an earlier ``--out``) it prints what changed
against that plan instead of the tree.

Exit status: 0 rendered (with ``--diff``: no changes), 1 changes (``--diff``
only), 2 invalid config or unreadable base (one line on stderr, nothing declared).
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import os
import runpy
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pulumi  # noqa: E402
import yaml  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from pulumi.runtime import rpc  # noqa: E402
from pulumi.runtime.mocks import MockMonitor  # noqa: E402
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await  # noqa: E402

from infra import graph, plandiff  # noqa: E402
from infra.config import PROJECT, ConfigError, encode_value, quote_key  # noqa: E402
from infra.mocks import PlanMocks  # noqa: E402

SECRET = "[secret]"
UNKNOWN = "[unknown]"
_SIG = rpc._special_sig_key  # noqa: SLF001 - the wire format's own marker
_SECRET_SIG = rpc._special_secret_sig  # noqa: SLF001
_RESOURCE_SIG = rpc._special_resource_sig  # noqa: SLF001


# --- config, as the CLI assembles it ------------------------------------------


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what}: {path} not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{what}: {path} is not valid YAML ({type(err).__name__})") from None


def project_defaults(project_file: Path = ROOT / "Pulumi.yaml") -> dict[str, str]:
    """``{namespaced key: encoded default}`` from the project-level ``config:`` block."""
    declared = (_read_yaml(project_file, "Pulumi.yaml") or {}).get("config") or {}
    return {
        f"{PROJECT}:{key}": encode_value(spec["default"])
        for key, spec in declared.items()
        if isinstance(spec, dict) and "default" in spec
    }


def stack_config(stack: str, config_file: Path | None = None) -> dict[str, str]:
    """The config the CLI would pass for ``stack``: project defaults, then the stack file."""
    path = config_file or ROOT / f"Pulumi.{stack}.yaml"
    doc = _read_yaml(path, "--config-file" if config_file else f"stack {stack}")
    if doc is None:
        doc = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}) or {}, dict):
        raise ConfigError(f"{path}: expected a mapping with a `config:` mapping")
    values = dict(project_defaults())
    for key, value in (doc.get("config") or {}).items():
        key = str(key)
        if ":" not in key:
            raise ConfigError(f"{quote_key(key)}: config keys must be namespaced (allowed: {PROJECT}:<key>)")
        if isinstance(value, dict) and "secure" in value:
            # Values never live in stack config; see README "Putting the values".
            raise ConfigError(f"{quote_key(key)}: secure values are not allowed in this project's stack config")
        values[key] = encode_value(value)
    return values


# --- recording what the program declares ---------------------------------------


def _clean(value: Any) -> Any:
    """Wire-format values to plain JSON: secrets masked, resource refs as URNs."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            return SECRET
        if sig == _RESOURCE_SIG:
            return value.get("urn")
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Struct carries every number as a double
    if value == rpc.UNKNOWN:
        return UNKNOWN
    return value


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, keeping what a plan shows: options and resolved inputs."""

    def __init__(self, mocks: PlanMocks):
        super().__init__(mocks)
        self.registrations: list[dict[str, Any]] = []
        self._urns: set[str] = set()
        self.stack_outputs: dict[str, Any] = {}
        self.thread_loops: set[asyncio.AbstractEventLoop] = set()

    def _track_loop(self) -> None:
        # The SDK's mock monitor makes an event loop in each executor thread and
        # never closes it; closed here (see _close_loops), not by the garbage
        # collector at exit, which can fail noisily once the selectors are gone.
        self.thread_loops.add(_ensure_event_loop())

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine builds them: the parent's qualified type chain, minus the stack."""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        self._track_loop()
        response = super().RegisterResource(request)
        if response.urn in self._urns:
            return response  # set_mocks' root stack and run_in_stack's are the same resource
        self._urns.add(response.urn)
        self.registrations.append(
            {
                "urn": response.urn,
                "type": request.type,
                "name": request.name,
                "parent": request.parent or None,
                "custom": bool(request.custom),
                "provider": request.provider or None,
                "inputs": _clean(json_format.MessageToDict(request.object)),
                "protect": bool(request.protect),
                "retain_on_delete": bool(request.retainOnDelete),
                "depends_on": sorted(set(request.dependencies)),
            }
        )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn.endswith(f"::pulumi:pulumi:Stack::{PROJECT}-{pulumi.get_stack()}"):
            self.stack_outputs = _clean(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)


@dataclass
class Plan:
    stack: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_]

    def one(self, type_: str, name: str | None = None) -> dict[str, Any]:
        found = [r for r in self.of_type(type_) if name is None or r["name"] == name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_} {name or ''}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> dict[str, Any]:
        return next(r for r in self.resources if r["urn"] == urn)

    def k8s_objects(self) -> list[dict[str, Any]]:
        """Kubernetes objects as they would be applied (not providers, not Helm releases)."""
        return [
            r
            for r in self.resources
            if r["custom"] and r["type"].startswith("kubernetes:") and "kind" in r["inputs"]
        ]


def _run_program(stack: str, config: Mapping[str, str]) -> Plan:
    pulumi.runtime.set_all_config(dict(config))
    mocks = PlanMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    # set_mocks registers a root stack of its own; the language host's
    # run_in_stack registers the one the program's exports go to.
    pulumi.runtime.settings.set_root_resource(None)
    program = str(ROOT / "infra")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        _sync_await(pulumi.runtime.run_in_stack(lambda: runpy.run_path(program, run_name="__main__")))
    finally:
        os.chdir(cwd)
        _close_loops(monitor.thread_loops)
    # Registration order depends on when inputs resolve; URN order does not.
    resources = sorted(monitor.registrations, key=lambda r: r["urn"])
    return Plan(stack=stack, resources=resources, outputs=monitor.stack_outputs)


def _close_loops(thread_loops: set[asyncio.AbstractEventLoop]) -> None:
    """Join the executor threads, close their loops and the main one, start a fresh main loop."""
    main_loop = _ensure_event_loop()
    main_loop.run_until_complete(main_loop.shutdown_default_executor())
    for loop in thread_loops - {main_loop}:
        if not loop.is_closed():
            loop.close()
    main_loop.close()
    asyncio.set_event_loop(asyncio.new_event_loop())


def render(stack: str, config_file: Path | None = None, overrides: Mapping[str, Any] | None = None) -> Plan:
    """Run the program for ``stack``; raises ``ConfigError`` for invalid config.

    ``overrides`` (``{key: value}``, project namespace implied) change single
    keys, as ``pulumi config set`` would. Each render runs in a fresh context,
    so renders in one process never see each other's resources or config.
    """
    config = stack_config(stack, config_file)
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = encode_value(value)
    return contextvars.Context().run(_run_program, stack, config)


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


def _pretty_json(document: str) -> str:
    return json.dumps(json.loads(document), indent=2) + "\n"


def policy_documents(plan: Plan) -> dict[str, str]:
    """``{file name: text}`` for every access document the stack declares.

    IAM policies and trust policies as ``.json``, Vault policies as ``.hcl``,
    GCP per-secret bindings as one ``.json`` list.
    """
    docs: dict[str, str] = {}
    for r in plan.of_type("aws:iam/policy:Policy"):
        docs[f"{r['inputs']['name']}.json"] = _pretty_json(r["inputs"]["policy"])
    for r in plan.of_type("aws:iam/role:Role"):
        docs[f"{r['inputs']['name']}-trust.json"] = _pretty_json(r["inputs"]["assumeRolePolicy"])
    for r in plan.of_type("vault:index/policy:Policy"):
        docs[f"{r['inputs']['name']}.hcl"] = r["inputs"]["policy"]
    bindings = [
        {k: r["inputs"][k] for k in ("secretId", "role", "member")}
        for r in plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    ]
    if bindings:
        docs[f"gcp-{plan.stack}-secret-accessors.json"] = json.dumps(sorted(bindings, key=lambda b: b["secretId"]), indent=2) + "\n"
    return docs


def write(plan: Plan, out: Path) -> str | None:
    """Write every plan file to ``out``; returns a note when graph.svg could not be drawn."""
    (out / "manifests").mkdir(parents=True, exist_ok=True)
    (out / "policies").mkdir(parents=True, exist_ok=True)
    (out / "resources.json").write_text(json.dumps(plan.resources, indent=2, sort_keys=True) + "\n")
    (out / "outputs.json").write_text(json.dumps(plan.outputs, indent=2, sort_keys=True) + "\n")
    for r in plan.k8s_objects():
        m = _manifest(r)
        (out / "manifests" / _manifest_filename(m)).write_text(yaml.safe_dump(m, sort_keys=False))
    for r in plan.of_type("kubernetes:helm.sh/v3:Release"):
        i = r["inputs"]
        release = {
            "chart": i.get("chart"),
            "version": i.get("version"),
            "repository": (i.get("repositoryOpts") or {}).get("repo"),
            "namespace": i.get("namespace"),
            "values": _sorted(i.get("values", {})),
        }
        (out / "manifests" / f"helm-release-{i.get('name', r['name'])}.yaml").write_text(yaml.safe_dump(release, sort_keys=False))
    for fname, text in policy_documents(plan).items():
        (out / "policies" / fname).write_text(text)
    return graph.write(plan.resources, f"{PROJECT}/{plan.stack}", out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name: staging or production")
    parser.add_argument("--config-file", type=Path, help="read the stack config from FILE instead of Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, help="write resources.json, outputs.json, manifests/, policies/, graph.dot to DIR")
    parser.add_argument("--diff", type=Path, metavar="BASE_DIR", help="show changes against an earlier --out directory")
    parser.add_argument("--print-kube-context", action="store_true", help="print the stack's kubeContext and exit (CI)")
    args = parser.parse_args(argv)
    if args.print_kube_context:
        try:
            print(stack_config(args.stack, args.config_file)[f"{PROJECT}:kubeContext"])
        except (ConfigError, KeyError):
            print(f"error: {PROJECT}:kubeContext: missing in the {args.stack} stack config", file=sys.stderr)
            return 2
        return 0
    try:
        base = json.loads((args.diff / "resources.json").read_text()) if args.diff else None
    except (OSError, ValueError) as err:
        print(f"error: --diff: cannot read {args.diff}/resources.json ({type(err).__name__})", file=sys.stderr)
        return 2
    try:
        plan = render(args.stack, args.config_file)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.out:
        note = write(plan, args.out)
        if note:
            print(note, file=sys.stderr)
    if base is not None:
        changes = plandiff.diff(base, plan.resources)
        print(plandiff.render_text(changes))
        return 1 if changes.has_changes else 0
    print(tree(plan))
    if args.out:
        print(f"\nwrote {args.out}/resources.json, outputs.json, manifests/, policies/, graph.dot")
    return 0


if __name__ == "__main__":
    sys.exit(main())

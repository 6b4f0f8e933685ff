"""Helpers the tests share: plans of every stack file and example, rendered once each.

Environments are never named here: the stacks are whatever ``Pulumi.*.yaml``
files the project (and each example directory) holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from infra import stackfiles
from infra.catalog import Catalog
from infra.stackfiles import ROOT, encode_value, environments, stack_of
from stacktools import recorder

STACKS: tuple[str, ...] = tuple(environments(ROOT))
"""Every shipped stack (environment)."""

EXAMPLE_DIRS: tuple[Path, ...] = tuple(sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir()))
_ALL_EXAMPLES: dict[str, Path] = {
    f"{d.name}-{stack}": d / f"Pulumi.{stack}.yaml" for d in EXAMPLE_DIRS for stack in environments(d)
}
MULTI_CLUSTER: dict[str, Path] = {
    name: path for name, path in _ALL_EXAMPLES.items() if stackfiles.stack_config(stack_of(path) or "", path).get("aragora-secrets:clusters", "{}") != "{}"
}
"""Examples with several clusters (``clusters``): in ``PLANS`` like any other, so every generic check runs on
them too, per cluster (``clusters_of``, ``through``); tests/test_multi_region.py checks what only they have."""
EXAMPLES: dict[str, Path] = {name: path for name, path in _ALL_EXAMPLES.items() if name not in MULTI_CLUSTER}
"""``{"<backend>-<stack>": stack file}`` of every single-cluster example."""

PLANS: dict[str, tuple[str, Path | None]] = {
    **{s: (s, None) for s in STACKS},
    **{name: (stack_of(path) or "", path) for name, path in _ALL_EXAMPLES.items()},
}
"""Every configuration the project ships: ``{name: (stack, config file or None)}``, several-cluster examples too."""

SETS: dict[str, dict[str, tuple[str, Path | None]]] = {
    "project": {s: (s, None) for s in STACKS},
    **{d.name: {s: (s, d / f"Pulumi.{s}.yaml") for s in environments(d)} for d in EXAMPLE_DIRS},
}
"""Groups of stacks that are deployed side by side: the project's own, and each example directory's."""

ANY_STACK = STACKS[0]
"""A valid stack to derive single-key variations from."""


SHARED_PLANS: Path | None = None
"""A directory every xdist worker of this run shares (set by conftest): a plan one worker rendered is read,
not rendered again, by the others. None: this process's cache only."""


def _shared_file(stack: str, config_file: str | None, overrides: tuple) -> Path | None:
    """Where a plan of these arguments is kept: keyed by the arguments and by the bytes of every stack file
    the program reads (the stack's own, its neighbours, Pulumi.yaml), so a rewritten file is a new plan."""
    if SHARED_PLANS is None:
        return None
    digest = hashlib.sha256(json.dumps([stack, config_file, overrides]).encode())
    for directory in sorted({Path(config_file).parent if config_file else ROOT, ROOT}):
        for path in sorted(directory.glob("Pulumi*.yaml")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return SHARED_PLANS / f"{digest.hexdigest()}.json"


@cache
def _cached(stack: str, config_file: str | None, overrides: tuple, secrets: Catalog | None) -> recorder.Plan:
    shared = _shared_file(stack, config_file, overrides) if secrets is None else None
    if shared is not None and shared.exists():
        return recorder.Plan(**json.loads(shared.read_text()))
    plan = recorder.render(stack, Path(config_file) if config_file else None, dict(overrides), secrets)
    if shared is not None:
        # Written whole, then renamed: another worker reads a complete plan or none.
        partial = shared.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"stack": plan.stack, "resources": plan.resources, "outputs": plan.outputs, "config": plan.config}))
        os.replace(partial, shared)
    return plan


def render(
    stack: str, config_file: str | Path | None = None, *, secrets: Catalog | None = None, **overrides: Any
) -> recorder.Plan:
    """A plan of ``stack``, cached by arguments (stack files must not change between calls);
    ``overrides`` set single config keys (camelCase, project namespace)."""
    encoded = tuple(sorted((k, encode_value(v)) for k, v in overrides.items()))
    return _cached(stack, str(config_file) if config_file else None, encoded, secrets)


def backend_of(name: str) -> str:
    stack, config_file = PLANS[name]
    return configured(stack, "backend", config_file)


def facts_of(name: str) -> dict:
    """Type -> ``Facts`` of what the configuration ``name`` can declare: its backend's and the shared components'."""
    from infra import backends

    return backends.facts(backends.load(backend_of(name)))


def plans_of(backend: str) -> list[str]:
    """Names of the shipped stacks and examples that use ``backend``."""
    return [name for name in PLANS if backend_of(name) == backend]


def render_named(name: str, **overrides: Any) -> recorder.Plan:
    stack, config_file = PLANS[name]
    return render(stack, config_file, **overrides)


def doc(resource: dict, key: str) -> dict:
    """A JSON document input (IAM policies are strings on the wire)."""
    return json.loads(resource["inputs"][key])


def configured(stack: str, key: str, config_file: Path | None = None) -> str:
    """The value a stack runs with, as the CLI hands it over: its stack file's, else the project default.

    Read through the same loader as the plan (``infra.stackfiles``), once per file and version:
    collection asks this of every shipped configuration many times."""
    path = config_file or stackfiles.stack_file(stack)
    try:
        version = path.stat().st_mtime_ns
    except OSError:
        version = None  # stack_config reports it
    return _stack_config(stack, str(config_file) if config_file else None, version)[f"aragora-secrets:{key}"]


@cache
def _stack_config(stack: str, config_file: str | None, version: int | None) -> dict[str, str]:
    return stackfiles.stack_config(stack, Path(config_file) if config_file else None)


def settings(model, **values: Any):
    """A settings model from the ``Pulumi.yaml`` defaults of its keys, with ``values`` (by key) over them."""
    declared = stackfiles.declared_config()
    raw = {k: stackfiles.encode_value(declared[k].get("default")) for k in model.config_keys() if "default" in declared[k]}
    return model.parse({**raw, **{k: stackfiles.encode_value(v) for k, v in values.items()}})


def make_dry_run(*args: str) -> subprocess.CompletedProcess:
    """``make -n <args>`` in the project: what a target would run, without running it."""
    make = shutil.which("make")
    assert make, "make is missing"
    return subprocess.run([make, "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def run_main(main, argv: list[str]) -> SimpleNamespace:
    """A command's ``main(argv)`` in this process, as a subprocess result (returncode, stdout, stderr):
    the same code path as ``python -m``, without a second interpreter's start-up."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as done:
            code = done.code
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


_CLUSTERS = "aragora-secrets:clusters"


def clusters_of(plan: recorder.Plan) -> dict[str, dict[str, str]]:
    """Each cluster of ``plan``'s stack as its stack file spells it: ``{name: its keys}``, its own entry over the
    top level (unprefixed keys, string values as the CLI passes them); a stack without ``clusters`` is one cluster ``""``.

    Read from the config the stack file gave the program, never from what the program declared."""
    prefix = "aragora-secrets:"
    top = {k.removeprefix(prefix): v for k, v in plan.config.items() if k.startswith(prefix) and k != _CLUSTERS}
    entries = json.loads(plan.config.get(_CLUSTERS) or "{}") or {"": {}}
    return {name: {**top, **{k: encode_value(v) for k, v in (entry or {}).items()}} for name, entry in entries.items()}


def read_region(keys: dict[str, str]) -> str:
    """The region a cluster's AWS store reads: its ``awsReadRegion``, else its own ``awsRegion``."""
    return keys.get("awsReadRegion") or keys["awsRegion"]


def through(plan: recorder.Plan, keys: dict[str, str], type_: str | None = None) -> list[dict]:
    """The resources (of ``type_``) ``plan`` applies into the cluster whose keys are ``keys``: through the one
    Kubernetes provider pinned to that cluster's ``kubeContext``."""
    (provider,) = [r for r in plan.of_type("pulumi:providers:kubernetes") if r["inputs"].get("context") == keys["kubeContext"]]
    return [
        r for r in plan.resources
        if (r.get("provider") or "").rsplit("::", 1)[0] == provider["urn"] and (type_ is None or r["type"] == type_)
    ]


def one_through(plan: recorder.Plan, keys: dict[str, str], type_: str) -> dict:
    """The one resource of ``type_`` applied into that cluster."""
    found = through(plan, keys, type_)
    if len(found) != 1:
        raise LookupError(f"expected one {type_} in the cluster of context {keys['kubeContext']!r}, found {len(found)}")
    return found[0]


def aws_region_of(plan: recorder.Plan, resource: dict) -> str:
    """The region of the AWS provider ``resource`` is declared through."""
    providers = {r["urn"]: r for r in plan.of_type("pulumi:providers:aws")}
    return providers[resource["provider"].rsplit("::", 1)[0]]["inputs"]["region"]


def one_line_error(result, *words: str) -> str:
    """A tool that could not check: exit 2, no traceback, one stderr line naming each of ``words``."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    for word in words:
        assert word in line, line
    return line

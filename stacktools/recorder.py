"""Run the real stack program under Pulumi's mock runtime and record what it declares.

``render(stack)`` applies ``Pulumi.yaml`` defaults and the stack's config the
way the CLI does (``stackfiles``), runs ``infra/`` exactly as the language host
runs it (``runpy`` on the ``main`` path, cwd = project root) and returns a
``Plan``: every resource registration with its resolved inputs and options,
and the stack outputs.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import hmac
import json
import os
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from infra import config as config_mod
from infra import stack as stack_mod
from infra.catalog import Catalog
from infra.fields import PROJECT, ConfigError
from infra.stackfiles import ROOT, encode_value, project_directory, stack_config
from stacktools.mocks import PlanMocks

SECRET = "[secret]"
"""Prefix of a secret input in a plan: ``[secret]`` and, when the value is known, a fingerprint."""


def fingerprint(value: Any, key: bytes | None) -> str:
    """``[secret <12 hex of HMAC-SHA256>]`` under ``key``: a change shows in the diff, the value never does.

    Keyed, because a low-entropy value (a kubeconfig path) would be recovered from a bare hash by
    guessing; the key is random, stored beside the base plan (``KEY_FILE`` in ``--out``) and used
    again by ``--diff``. Without a key only ``[secret]`` is shown."""
    if key is None:
        return SECRET
    digest = hmac.new(key, json.dumps(value, sort_keys=True).encode(), hashlib.sha256).hexdigest()[:12]
    return f"[secret {digest}]"


KEY_FILE = "fingerprint.key"
"""The fingerprint key of a plan directory: random, written with --out (mode 0600), read by --diff."""


UNKNOWN = "[unknown]"
_SIG = rpc._special_sig_key  # noqa: SLF001 - the wire format's own marker
_SECRET_SIG = rpc._special_secret_sig  # noqa: SLF001
_RESOURCE_SIG = rpc._special_resource_sig  # noqa: SLF001


def _clean(value: Any, key: bytes | None = None) -> Any:
    """Wire-format values to plain JSON: secrets masked (fingerprinted under ``key``), resource refs as URNs."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            inner = value.get("value")
            return SECRET if inner is None or inner == rpc.UNKNOWN else fingerprint(inner, key)
        if sig == _RESOURCE_SIG:
            return value.get("urn")
        return {k: _clean(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, key) for v in value]
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
        self.fingerprint_key: bytes | None = None

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
                "inputs": _clean(json_format.MessageToDict(request.object), self.fingerprint_key),
                "protect": bool(request.protect),
                "retain_on_delete": bool(request.retainOnDelete),
                "depends_on": sorted(set(request.dependencies)),
            }
        )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn.endswith(f"::pulumi:pulumi:Stack::{PROJECT}-{pulumi.get_stack()}"):
            self.stack_outputs = _clean(json_format.MessageToDict(request.outputs), self.fingerprint_key)
        return super().RegisterResourceOutputs(request)


@dataclass
class Plan:
    stack: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)
    """The config the program ran with, as the CLI passes it (namespaced keys, string values)."""

    def setting(self, key: str) -> str:
        """One project config value as the program received it."""
        return self.config[f"{PROJECT}:{key}"]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_]

    def one(self, type_: str, name: str | None = None) -> dict[str, Any]:
        found = [r for r in self.of_type(type_) if name is None or r["name"] == name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_} {name or ''}, found {len(found)}")
        return found[0]

    def k8s_objects(self) -> list[dict[str, Any]]:
        """Kubernetes objects as they would be applied (not providers, not Helm releases)."""
        return [
            r
            for r in self.resources
            if r["custom"] and r["type"].startswith("kubernetes:") and "kind" in r["inputs"]
        ]


@dataclass
class Recording:
    """What one run declared, and the config error that ended it, if any."""

    plan: Plan
    error: ConfigError | None = None

    @property
    def declared(self) -> list[str]:
        """Types of the resources declared, the stack itself left out."""
        return [r["type"] for r in self.plan.resources if r["type"] != "pulumi:pulumi:Stack"]


def _run(
    stack: str, config: Mapping[str, str], program: Callable[[], None], workdir: Path = ROOT, fingerprint_key: bytes | None = None
) -> Recording:
    pulumi.runtime.set_all_config(dict(config))
    mocks = PlanMocks()
    monitor = RecordingMonitor(mocks)
    monitor.fingerprint_key = fingerprint_key
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    # set_mocks registers a root stack of its own; the language host's
    # run_in_stack registers the one the program's exports go to.
    pulumi.runtime.settings.set_root_resource(None)
    error = None
    cwd = os.getcwd()
    # The CLI runs the program in the project root, next to the stack files;
    # a --config-file elsewhere brings its own directory's stack files along.
    os.chdir(workdir)
    config_mod.PROJECT_DIRECTORY.set(workdir)  # getcwd() would name a symlinked directory by its target
    try:
        _sync_await(pulumi.runtime.run_in_stack(program))
    except ConfigError as err:
        error = err
    finally:
        os.chdir(cwd)
        _close_loops(monitor.thread_loops)
    # Registration order depends on when inputs resolve; URN order does not.
    resources = sorted(monitor.registrations, key=lambda r: r["urn"])
    return Recording(Plan(stack, resources, monitor.stack_outputs, dict(config)), error)


def _stack_program(secrets: Catalog | None) -> Callable[[], None]:
    if secrets is None:
        # Exactly as the language host runs `main: infra/`: runpy, cwd = project root.
        return lambda: runpy.run_path(str(ROOT / "infra"), run_name="__main__")
    return lambda: stack_mod.build(config_mod.load(), secrets)


def declare(program: Callable[[], None], stack: str = "unit") -> Plan:
    """What ``program`` declares under the mocks, with no stack config: for one component, built alone."""
    return contextvars.Context().run(_run, stack, {}, program).plan


def _close_loops(thread_loops: set[asyncio.AbstractEventLoop]) -> None:
    """Join the executor threads, close their loops and the main one, start a fresh main loop."""
    main_loop = _ensure_event_loop()
    main_loop.run_until_complete(main_loop.shutdown_default_executor())
    for loop in thread_loops - {main_loop}:
        if not loop.is_closed():
            loop.close()
    main_loop.close()
    asyncio.set_event_loop(asyncio.new_event_loop())


def record(
    stack: str,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    secrets: Catalog | None = None,
    fingerprint_key: bytes | None = None,
) -> Recording:
    """Run the program for ``stack`` and keep what it declared, whether or not the config was valid.

    A stack file that cannot be read raises ``ConfigError``: nothing ran.

    ``overrides`` (``{key: value}``, project namespace implied) change single
    keys, as ``pulumi config set`` would. ``secrets`` replaces the catalog for
    this render only (tests, benchmark); without it the program runs exactly as
    the language host runs it. Each render runs in a fresh context, so renders
    in one process never see each other's resources or config. Secret inputs
    are fingerprinted under ``fingerprint_key`` (``fingerprint``), else ``[secret]``.
    """
    config = stack_config(stack, config_file)
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = encode_value(value)
    return contextvars.Context().run(_run, stack, config, _stack_program(secrets), project_directory(config_file), fingerprint_key)


def render(
    stack: str,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    secrets: Catalog | None = None,
    fingerprint_key: bytes | None = None,
) -> Plan:
    """The plan of ``stack`` (see ``record``); raises ``ConfigError`` for invalid config."""
    recording = record(stack, config_file, overrides, secrets, fingerprint_key)
    if recording.error is not None:
        raise recording.error
    return recording.plan



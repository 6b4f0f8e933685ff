"""A component built alone under Pulumi's mock runtime: what it declares, with resolved inputs and options.

Imports only pulumi (and the standard library): a component test needs
nothing of the program or the tooling, as a component needs nothing of them.
Provider-computed outputs (an ARN, an email) are the test's to state:
``declare(program, computed={type: lambda name, inputs: {...}})``; anything
else echoes its inputs.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

PROJECT = "unit"
Computed = Mapping[str, Callable[[str, dict[str, Any]], dict[str, Any]]]


def _clean(value: Any) -> Any:
    """Wire values as plain JSON: secrets as ``[secret]``, resource references as URNs, unknowns as ``[unknown]``."""
    if isinstance(value, dict):
        sig = value.get(rpc._special_sig_key)  # noqa: SLF001 - the wire format's own marker
        if sig == rpc._special_secret_sig:  # noqa: SLF001
            return "[secret]"
        if sig == rpc._special_resource_sig:  # noqa: SLF001
            return value.get("urn")
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == rpc.UNKNOWN:
        return "[unknown]"
    return value


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, computed: Computed):
        self.computed = computed

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        extra = self.computed.get(args.typ)
        outputs = {**inputs, **(extra(args.name, inputs) if extra else {})}
        return str(outputs.get("id") or f"{args.name}-id"), outputs  # a computed "id" is the resource's id

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return {}


class _Monitor(MockMonitor):
    def __init__(self, mocks: _Mocks):
        super().__init__(mocks)
        self.registrations: list[dict[str, Any]] = []
        self.outputs: dict[str, Any] = {}
        self.loops: set[asyncio.AbstractEventLoop] = set()

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        self.loops.add(_ensure_event_loop())
        response = super().RegisterResource(request)
        if all(r["urn"] != response.urn for r in self.registrations):
            self.registrations.append(
                {
                    "urn": response.urn,
                    "type": request.type,
                    "name": request.name,
                    "parent": request.parent or None,
                    "custom": bool(request.custom),
                    "inputs": _clean(json_format.MessageToDict(request.object)),
                    "protect": bool(request.protect),
                    "retain_on_delete": bool(request.retainOnDelete),
                    "depends_on": sorted(set(request.dependencies)),
                }
            )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn.endswith("::pulumi:pulumi:Stack::" + f"{PROJECT}-{pulumi.get_stack()}"):
            self.outputs = _clean(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)


@dataclass
class Declared:
    resources: list[dict[str, Any]]
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_]

    def one(self, type_: str, name: str | None = None) -> dict[str, Any]:
        found = [r for r in self.of_type(type_) if name is None or r["name"] == name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_} {name or ''}, found {len(found)}")
        return found[0]


def _run(program: Callable[[], None], stack: str, computed: Computed) -> Declared:
    pulumi.runtime.set_all_config({})
    mocks = _Mocks(computed)
    monitor = _Monitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.settings.set_root_resource(None)
    try:
        _sync_await(pulumi.runtime.run_in_stack(program))
    finally:
        main_loop = _ensure_event_loop()
        main_loop.run_until_complete(main_loop.shutdown_default_executor())
        for loop in monitor.loops - {main_loop}:
            if not loop.is_closed():
                loop.close()
        main_loop.close()
        asyncio.set_event_loop(asyncio.new_event_loop())
    return Declared(sorted(monitor.registrations, key=lambda r: r["urn"]), monitor.outputs)


def declare(program: Callable[[], None], stack: str = "unit", computed: Computed | None = None) -> Declared:
    """What ``program`` declares, in a fresh context (renders in one process never see each other)."""
    return contextvars.Context().run(_run, program, stack, computed or {})

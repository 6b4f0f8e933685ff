"""Deterministic provider mocks for the offline plan and the tests.

Providers compute ids and ARNs in the cloud; here they are built from the
provider's own inputs (account, region, project), so rendered documents look
exactly as they will after a real ``pulumi up``, and two runs give the same
bytes. What each backend's provider computes is the backend's own
(its ``Facts.mock`` per type), and only the stack's own backend is loaded;
Kubernetes objects are identified by namespace/name.
"""

from __future__ import annotations

import uuid
from typing import Any

import pulumi

from infra.backends import load
from infra.backends.base import MockRequest
from infra.fields import PROJECT

_NS = uuid.UUID("6c1b0a4e-8e52-4d8a-9d3c-5a2f2a6f1b01")


class PlanMocks(pulumi.runtime.Mocks):
    """Echo inputs and add the provider-computed fields the program reads."""

    def __init__(self) -> None:
        self.providers: dict[str, dict[str, Any]] = {}
        self._mocks: dict[str, Any] | None = None

    def _mock_of(self, typ: str):
        # The stack's backend, read when its first resource registers: config is validated by then.
        if self._mocks is None:
            name = pulumi.Config(PROJECT).get("backend")
            resources = load(name).resources if name else {}  # no config: a component declared alone
            self._mocks = {t: f.mock for t, f in resources.items() if f.mock is not None}
        return self._mocks.get(typ)

    def _provider_inputs(self, ref: str | None) -> dict[str, Any]:
        # A provider reference is "<urn>::<id>"; ids are unique per provider here.
        return self.providers.get((ref or "").rsplit("::", 1)[-1], {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            provider_id = str(uuid.uuid5(_NS, f"{args.typ}/{args.name}"))
            self.providers[provider_id] = inputs
            return provider_id, inputs
        mock = None if args.typ.startswith("kubernetes:") else self._mock_of(args.typ)
        if mock is not None:
            request = MockRequest(args.typ, args.name, inputs, self._provider_inputs(args.provider), pulumi.get_stack())
            mocked = mock(request)
            if mocked is not None:
                return mocked
        if args.typ.startswith("kubernetes:") and isinstance(inputs.get("metadata"), dict):
            meta = inputs["metadata"]
            ident = "/".join(x for x in (meta.get("namespace"), meta.get("name")) if x)
            return ident or args.name, inputs
        return f"{args.name}-id", inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return {}

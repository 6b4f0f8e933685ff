"""Deterministic provider mocks for the offline plan and the tests.

Providers compute ids and ARNs in the cloud; here they are built from the
provider's own inputs (account, region, project), so rendered documents look
exactly as they will after a real ``pulumi up``, and two runs give the same
bytes. What each backend's provider computes is the backend's own
(``Backend.mock``); Kubernetes objects are identified by namespace/name.
"""

from __future__ import annotations

import uuid
from typing import Any

import pulumi

from infra.backends import REGISTRY
from infra.backends.base import MockRequest

_NS = uuid.UUID("6c1b0a4e-8e52-4d8a-9d3c-5a2f2a6f1b01")
# Which backend mocks a type: the one whose contract declares it.
_MOCK_OF = {typ: backend.mock for backend in REGISTRY.values() for typ in backend.replace_on}


class PlanMocks(pulumi.runtime.Mocks):
    """Echo inputs and add the provider-computed fields the program reads."""

    def __init__(self) -> None:
        self.providers: dict[str, dict[str, Any]] = {}

    def _provider_inputs(self, ref: str | None) -> dict[str, Any]:
        # A provider reference is "<urn>::<id>"; ids are unique per provider here.
        return self.providers.get((ref or "").rsplit("::", 1)[-1], {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            provider_id = str(uuid.uuid5(_NS, f"{args.typ}/{args.name}"))
            self.providers[provider_id] = inputs
            return provider_id, inputs
        mock = _MOCK_OF.get(args.typ)
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

"""Fixtures: plans of every shipped stack, rendered by the real program under mocks; the shared backend servers."""

from __future__ import annotations

import pytest

from stacktools.recorder import Plan
from tests.shared_servers import bao_server, moto_url  # noqa: F401 - session fixtures: one server of each per worker
from tests.support import STACKS, render


@pytest.fixture(params=STACKS)
def stack_plan(request) -> Plan:
    return render(request.param)

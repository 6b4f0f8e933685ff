"""Fixtures: plans of every shipped stack, rendered by the real program under mocks."""

from __future__ import annotations

import pytest

from stacktools.recorder import Plan
from tests.support import STACKS, render


@pytest.fixture(params=STACKS)
def stack_plan(request) -> Plan:
    return render(request.param)

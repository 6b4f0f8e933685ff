"""Fixtures: plans of every shipped stack, rendered by the real program under mocks; the shared backend servers."""

from __future__ import annotations

import pytest

from stacktools.recorder import Plan
from tests import support
from tests.shared_servers import bao_server, moto_url  # noqa: F401 - session fixtures: one server of each per worker
from tests.support import STACKS, render


@pytest.fixture(scope="session", autouse=True)
def _plans_shared_by_the_workers(tmp_path_factory):
    # Under xdist every worker's basetemp sits in one directory of this run: the workers share the plans
    # they render there (each would otherwise render the same stacks again). Pytest removes old runs' dirs.
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if base.name.startswith("popen-") else base) / "plans"
    shared.mkdir(exist_ok=True)
    support.SHARED_PLANS = shared
    yield
    support.SHARED_PLANS = None


@pytest.fixture(params=STACKS)
def stack_plan(request) -> Plan:
    return render(request.param)


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker more than the cores this process may use.

    A fifth of the suite's wall time is waiting, not computing: fake servers that hang on purpose, tool
    deadlines, moto and OpenBao round trips, botocore's retry backoff. One extra worker runs CPU work
    while another waits (measured on 2 cores: 62 s with 2 workers, 58 s with 3)."""
    import os

    return len(os.sched_getaffinity(0)) + 1

"""Fixtures: plans of every shipped stack, rendered by the real program under mocks; the shared backend servers."""

from __future__ import annotations

import pytest

from stacktools.recorder import Plan
from tests.shared_servers import bao_server, moto_url  # noqa: F401 - session fixtures: one server of each per worker
from tests.support import MULTI_CLUSTER, STACKS, render


@pytest.fixture(params=STACKS)
def stack_plan(request) -> Plan:
    return render(request.param)


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        "one_cluster: reads one cluster's objects (one store, one ESO, one trust statement); not collected for a "
        "stack with several clusters, which tests/test_multi_region.py checks per cluster",
    )


def pytest_collection_modifyitems(config, items) -> None:
    """Deselect (never skip) the several-cluster parameters of the tests marked ``one_cluster``."""
    keep, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        several = any(isinstance(v, str) and v in MULTI_CLUSTER for v in params.values())
        (dropped if several and item.get_closest_marker("one_cluster") else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep

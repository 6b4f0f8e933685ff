"""Prometheus durations from seconds: the stall alert's window is written this way."""

from __future__ import annotations

import pytest

from infra.durations import go_duration_seconds, prometheus_duration


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(7200, "2h"), (600, "10m"), (86400, "1d"), (90, "90s"), (5400, "90m"), (0.2, "1s"), (59.5, "1m"), (61, "61s")],
)
def test_a_duration_is_written_in_its_largest_whole_unit_and_never_shortened(seconds, expected):
    assert prometheus_duration(seconds) == expected


@pytest.mark.parametrize("refresh", ["1m", "5m", "1h", "1h30m", "24h", "90s"])
def test_twice_a_refresh_interval_is_written_as_exactly_that_many_seconds(refresh):
    text = prometheus_duration(2 * go_duration_seconds(refresh))
    number, unit = int(text[:-1]), text[-1]
    assert number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit] == 2 * go_duration_seconds(refresh)

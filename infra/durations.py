"""Go durations as ESO reads them, and the refresh bounds this project allows.

Standard library only: the policy pack (its own virtualenv, no pydantic, no
providers) imports this module too, so the stack config and the CrossGuard rule
can never disagree on what ``refreshInterval`` may be.
"""

from __future__ import annotations

import math
import re

_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+")
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}

# Every refresh is a paid provider call: under a minute throttles, over a day
# leaves a rotated value unseen for too long.
MIN_REFRESH_SECONDS = 60
MAX_REFRESH_SECONDS = 24 * 3600
REFRESH_BOUNDS = "1m..24h"


def go_duration_seconds(value: str) -> float | None:
    """Seconds in a Go ``time.Duration`` string (``1h30m``), or None when it is not one."""
    if not isinstance(value, str) or not _DURATION.fullmatch(value):
        return None
    return sum(float(n) * _UNITS[u] for n, u in _PART.findall(value))


def refresh_interval_allowed(value: str) -> bool:
    seconds = go_duration_seconds(value)
    return seconds is not None and MIN_REFRESH_SECONDS <= seconds <= MAX_REFRESH_SECONDS


def prometheus_duration(seconds: float) -> str:
    """``seconds`` as a Prometheus duration in the largest whole unit (7200 -> ``2h``), rounded up to a second."""
    whole = max(1, math.ceil(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"

# The month of the cloud price sheets (8,760 hours a year / 12): calls and
# stored units per month are counted over it.
HOURS_PER_MONTH = 730

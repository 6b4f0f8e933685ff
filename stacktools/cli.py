"""What every operations command shares: argument types and the one-line failure of a backend call."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

from infra.backends import CREDENTIALS, CapabilityMissing, backend_of, capability
from infra.config import StackConfig


def utc_time(value: str) -> dt.datetime:
    """An ``--now`` argument: ISO 8601 with a date and time; naive times are UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a time (allowed: ISO 8601, e.g. 2027-01-04T00:00:00Z)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def backend_failure(cfg: StackConfig, err: BaseException) -> str:
    """One line for a backend that cannot be read, with what the tool expected to find in the environment."""
    detail = str(err).strip().splitlines()[0] if str(err).strip() else ""
    try:
        hint = capability(backend_of(cfg.backend), CREDENTIALS)(cfg.backend)
    except CapabilityMissing:
        hint = f"the {cfg.backend.name} backend's credentials in the environment"
    return f"error: cannot read the {cfg.environment} backend ({cfg.backend.name}): {type(err).__name__}{f': {detail}' if detail else ''}; expected {hint}"


def run(main) -> None:
    """``sys.exit(main())`` for ``python -m``, quiet when the reader of stdout goes away (``| head``)."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would print a traceback flushing stdout at exit: point it at devnull first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)

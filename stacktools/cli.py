"""What every operations command shares: argument types, the deadline, exit statuses, one-line failures.

Exit statuses, the same for every tool and through ``make`` (docs/operations.md, Exit statuses):
``OK`` 0, ``FINDING`` 1 (something missing, empty, overdue, not Ready), ``CANNOT_CHECK`` 2 (bad
input, a prerequisite missing, the backend or cluster unreadable, the deadline passed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

from infra.backends.reading import DEADLINE_ENV, DEFAULT_DEADLINE_SECONDS, Deadline, deadline_seconds, one_line
from infra.config import StackConfig

OK, FINDING, CANNOT_CHECK = 0, 1, 2

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST_YEARS_AHEAD = 10


def utc_time(value: str) -> dt.datetime:
    """A ``--now`` argument: ISO 8601 with a date and time; naive times are UTC; from 2000 to ten years ahead."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a time (allowed: ISO 8601, e.g. 2027-01-04T00:00:00Z)") from None
    parsed = parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    latest = dt.datetime.now(dt.UTC) + dt.timedelta(days=365 * LATEST_YEARS_AHEAD)
    if not EARLIEST <= parsed <= latest:
        raise argparse.ArgumentTypeError(
            f"{value!r} is out of range (allowed: from {EARLIEST:%Y-%m-%d} to {LATEST_YEARS_AHEAD} years from now, {latest:%Y-%m-%d})"
        )
    return parsed


def _seconds(value: str) -> float:
    try:
        return deadline_seconds(value, "--deadline")
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_deadline(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deadline", type=_seconds, metavar="SECONDS",
        help=f"give up after this many seconds in all, exit 2 naming what hung (default: {DEADLINE_ENV}, else {DEFAULT_DEADLINE_SECONDS:g})",
    )


def deadline(args: argparse.Namespace) -> Deadline:
    """The run's deadline: ``--deadline``, else ``$ARAGORA_TOOL_DEADLINE``, else 60 s; ValueError for a bad variable."""
    if args.deadline is not None:
        return Deadline(args.deadline)
    raw = os.environ.get(DEADLINE_ENV)
    return Deadline(deadline_seconds(raw, DEADLINE_ENV) if raw else DEFAULT_DEADLINE_SECONDS)


def error(message: str) -> int:
    """Print one ``error:`` line on stderr; the status for "cannot check"."""
    print(f"error: {one_line(message)}", file=sys.stderr)
    return CANNOT_CHECK


def backend_failure(cfg: StackConfig, err: BaseException) -> str:
    """One line for a backend that cannot be read: the reader's own explanation, or the exception's type and text."""
    from infra.backends import CapabilityMissing
    from infra.backends.reading import BackendUnreadable

    if isinstance(err, CapabilityMissing):
        return str(err)  # the backend has no such reader: nothing was read
    detail = str(err) if isinstance(err, BackendUnreadable) else f"{type(err).__name__}: {err}"
    return f"cannot read the {cfg.environment} backend ({cfg.backend.name}): {one_line(detail)}"


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

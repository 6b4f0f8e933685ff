"""CI's list of stacks, built from the stack files: nothing in the workflows names an environment.

    python -m stacktools.matrix                    every stack, in deploy order (JSON list)
    python -m stacktools.matrix --drift-hour 5     the stacks whose drift check is due at 05:xx UTC
    python -m stacktools.matrix --stack qa         just qa, refused unless Pulumi.qa.yaml exists

Deploy order: ``deployWave`` ascending, then name. Drift: ``driftCheck: hourly``
stacks on every hourly run, ``daily`` ones on the run at ``DAILY_HOUR`` UTC.
Every stack file is parsed first, so a broken one fails the job that lists it.

Exit status: 0 listed, 2 an unknown stack or an invalid stack file (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys

from infra.config import DriftCheck, StackConfig, from_stack_file
from infra.fields import ConfigError
from infra.stackfiles import environments
from stacktools import cli

DAILY_HOUR = 5


def stacks() -> list[StackConfig]:
    """Every stack of the project, parsed, in deploy order."""
    parsed = [from_stack_file(s) for s in environments()]
    return sorted(parsed, key=lambda c: (c.common.deploy_wave, c.environment))


def due(cfg: StackConfig, hour: int) -> bool:
    return cfg.common.drift_check is DriftCheck.HOURLY or hour == DAILY_HOUR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.matrix", description=__doc__.split("\n\n")[0])
    parser.add_argument("--drift-hour", type=int, choices=range(24), metavar="0..23")
    parser.add_argument("--stack", help="only this stack")
    args = parser.parse_args(argv)
    try:
        selected = stacks()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.stack:
        selected = [c for c in selected if c.environment == args.stack]
        if not selected:
            print(f"error: no stack {args.stack!r} (allowed: {', '.join(environments())})", file=sys.stderr)
            return 2
    elif args.drift_hour is not None:
        selected = [c for c in selected if due(c, args.drift_hour)]
    print(json.dumps([c.environment for c in selected]))
    return 0


if __name__ == "__main__":
    cli.run(main)

"""The age report: when did each value last change in the backend, and is it overdue?

    python -m stacktools.rotation --stack <stack> [--config-file FILE] [--now 2027-01-04T00:00:00Z] [--deadline SECONDS]

For every catalog value, through the backend's reader (``infra/backends/<name>/reader.py``,
the same one ``check-values`` uses): its location, the version ESO reads and
when that value was written (the oldest consecutive version holding the same
value: rewriting a group for another key does not make this one fresh), its
maximum age from the catalog's rotation policy, and OK, OVERDUE, or why there
is no usable value (MISSING, EMPTY, UNREADABLE, each with its reason: a
destroyed or deleted current version, a key absent from its group, a secret
scheduled for deletion, a group that is not a JSON object). A value that is
gone is never OK. Credentials come from the operator's environment, as for
`pulumi up` (AWS_PROFILE or AWS_* and AWS_ENDPOINT_URL, VAULT_ADDR/VAULT_TOKEN,
Google application default credentials). ``--now`` evaluates at another time
("what is overdue by the next maintenance window?"); it may not precede a
value's creation.

Exit status: 0 every value fresh, 1 something overdue, missing, empty or
unreadable, 2 bad input, the backend cannot be read, or the deadline passed.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from infra import catalog
from infra.backends import ROTATION_READER, STAMP_METADATA, backend_of, capability
from infra.backends.reading import Reading, reader
from infra.config import from_stack_file
from infra.fields import ConfigError
from stacktools import cli
from stacktools.cli import FINDING, OK, backend_failure, error, utc_time


def status(reading: Reading, now: dt.datetime) -> str:
    if not reading.ok:
        return reading.state.name
    return "OVERDUE" if now - reading.created > dt.timedelta(days=reading.entry.rotation.max_age_days) else "OK"


def render_rows(readings: list[Reading], now: dt.datetime) -> str:
    lines = [f"{'value':<24} {'location':<40} {'version':<10} {'last changed':<17} {'max age':>8} {'age':>6}  status"]
    for r in readings:
        when = r.created.strftime("%Y-%m-%d %H:%M") if r.created else "-"
        age = f"{(now - r.created).days}d" if r.created else "-"
        version = (r.version or "-")[:10]
        lines.append(f"{r.entry.env_var:<24} {r.location:<40} {version:<10} {when:<17} {r.entry.rotation.max_age_days:>7}d {age:>6}  {status(r, now)}")
    reasons = [f"  {r.entry.env_var}: {r.state.value}: {r.reason}" for r in readings if not r.ok]
    return "\n".join([*lines, *(["", "why:", *reasons] if reasons else [])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.rotation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--config-file", type=Path)
    parser.add_argument("--now", type=utc_time, help="evaluate at this time (ISO 8601, UTC; from 2000 to 10 years ahead), default: now")
    parser.add_argument("--stamp-metadata", action="store_true", help="first write each value's rotation policy as backend metadata (backends that keep it)")
    cli.add_deadline(parser)
    args = parser.parse_args(argv)
    now = args.now or dt.datetime.now(dt.UTC)
    try:
        deadline = cli.deadline(args)
        cfg = from_stack_file(args.stack, args.config_file)
    except (ConfigError, ValueError) as err:
        return error(str(err))
    try:
        if args.stamp_metadata:
            stamp = capability(backend_of(cfg.backend), STAMP_METADATA)
            for path in deadline.run(lambda: stamp(cfg.environment, cfg.backend, catalog.CATALOG)):
                print(f"stamped {path}")
        readings = reader(cfg.environment, cfg.backend, catalog.CATALOG, deadline=deadline, kind=ROTATION_READER)
    except ConfigError as err:
        return error(str(err))
    except Exception as err:  # noqa: BLE001 - a backend that cannot be read: one line, exit 2
        return error(backend_failure(cfg, err))
    early = [r for r in readings if r.created and r.created > now]
    if early:
        first = max(early, key=lambda r: r.created)
        return error(
            f"--now {now:%Y-%m-%dT%H:%M:%SZ} is before {first.entry.env_var}'s value was written ({first.created:%Y-%m-%dT%H:%M:%SZ}): "
            "ages would be negative (allowed: a time at or after every value's creation)"
        )
    print(render_rows(readings, now))
    counts = {s: sum(status(r, now) == s for r in readings) for s in ("OK", "OVERDUE", "MISSING", "EMPTY", "UNREADABLE")}
    print(f"\n{counts['OK']} fresh, {counts['OVERDUE']} overdue, {counts['MISSING']} missing, {counts['EMPTY']} empty, {counts['UNREADABLE']} unreadable")
    return OK if counts["OK"] == len(readings) else FINDING


if __name__ == "__main__":
    cli.run(main)

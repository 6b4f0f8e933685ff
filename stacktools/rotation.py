"""The age report: when did each value last change in the backend, and is it overdue?

    python -m stacktools.rotation --stack <stack> [--config-file FILE] [--now 2027-01-04T00:00:00Z]

For every catalog value: its location, when its current version was written
(AWS: the AWSCURRENT version's creation date; Vault: the current KV v2
version's created_time; GCP: the newest enabled version's create_time), its
maximum age from the catalog's rotation policy, and OK, OVERDUE or MISSING (no
value yet). Values are never read, only their metadata. Credentials come from
the operator's environment, as for `pulumi up` (AWS_PROFILE or AWS_* and
AWS_ENDPOINT_URL, VAULT_ADDR/VAULT_TOKEN, Google application default
credentials). ``--now`` evaluates at another time ("what is overdue by the
next maintenance window?").

Exit status: 0 every value fresh, 1 something overdue or missing, 2 the
config is invalid or the backend cannot be read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

from infra import catalog
from infra.backends import ROTATION_READER, STAMP_METADATA, backend_of, capability
from infra.config import StackConfig, from_stack_file
from infra.fields import ConfigError
from stacktools import cli
from stacktools.cli import backend_failure, utc_time


@dataclass(frozen=True)
class Row:
    entry: catalog.SecretEntry
    location: str
    changed: dt.datetime | None

    def status(self, now: dt.datetime) -> str:
        if self.changed is None:
            return "MISSING"
        return "OVERDUE" if now - self.changed > dt.timedelta(days=self.entry.rotation.max_age_days) else "OK"


def report(cfg: StackConfig, secrets: catalog.Catalog = catalog.CATALOG) -> list[Row]:
    changed = capability(backend_of(cfg.backend), ROTATION_READER)(cfg.environment, cfg.backend, secrets)
    return [Row(entry, *changed(entry)) for entry in secrets]


def render_rows(rows: list[Row], now: dt.datetime) -> str:
    lines = [f"{'value':<24} {'location':<40} {'last changed':<20} {'max age':>8} {'age':>6}  status"]
    for r in rows:
        when = r.changed.strftime("%Y-%m-%d %H:%M") if r.changed else "-"
        age = f"{(now - r.changed).days}d" if r.changed else "-"
        lines.append(f"{r.entry.env_var:<24} {r.location:<40} {when:<20} {r.entry.rotation.max_age_days:>7}d {age:>6}  {r.status(now)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.rotation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--config-file", type=Path)
    parser.add_argument("--now", type=utc_time, help="evaluate at this time (ISO 8601, UTC), default: now")
    parser.add_argument("--stamp-metadata", action="store_true", help="first write each value's rotation policy as backend metadata (backends that keep it)")
    args = parser.parse_args(argv)
    now = args.now or dt.datetime.now(dt.UTC)
    try:
        cfg = from_stack_file(args.stack, args.config_file)
        capability(backend_of(cfg.backend), ROTATION_READER)  # asked first: a backend without one says so
        stamp = capability(backend_of(cfg.backend), STAMP_METADATA) if args.stamp_metadata else None
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        if stamp is not None:
            for path in stamp(cfg.environment, cfg.backend, catalog.CATALOG):
                print(f"stamped {path}")
        rows = report(cfg)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - a backend that cannot be read: one line, exit 2
        print(backend_failure(cfg, err), file=sys.stderr)
        return 2
    print(render_rows(rows, now))
    bad = [r for r in rows if r.status(now) != "OK"]
    print(f"\n{len(rows) - len(bad)} fresh, {sum(r.status(now) == 'OVERDUE' for r in rows)} overdue, {sum(r.status(now) == 'MISSING' for r in rows)} missing")
    return 1 if bad else 0


if __name__ == "__main__":
    cli.run(main)

"""Before `pulumi up`: is every catalog value already in the backend, and usable?

    python -m stacktools.checkvalues --stack <stack> [--config-file FILE] [--deadline SECONDS]

For every catalog value, through the backend's reader (``infra/backends/<name>/reader.py``,
the same one ``rotation-report`` uses): present, or MISSING, EMPTY (``""`` or
``null``: ESO would sync an empty variable) or UNREADABLE (its group is not a
JSON object), with the reason. The values `pulumi up` waits for (the sync
classes it awaits: required and session) are listed apart from the optional
ones: a missing one makes `up` wait for its ExternalSecret until it times out,
so put it first (docs/deploying.md, Putting the values). Values are read only
to classify them; nothing is printed or kept. Credentials come from the
environment, as for `pulumi up`.

Exit status: 0 every value present, 1 something missing, empty or unreadable
(listed), 2 bad input, the backend cannot be read, or the deadline passed (one
line naming the cause).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from infra import catalog
from infra.backends.reading import reader
from infra.config import from_stack_file
from infra.fields import ConfigError
from stacktools import cli
from stacktools.cli import FINDING, OK, backend_failure, error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.checkvalues", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--config-file", type=Path)
    cli.add_deadline(parser)
    args = parser.parse_args(argv)
    try:
        deadline = cli.deadline(args)
        cfg = from_stack_file(args.stack, args.config_file)
    except (ConfigError, ValueError) as err:
        return error(str(err))
    try:
        readings = reader(cfg.environment, cfg.backend, catalog.CATALOG, deadline=deadline)
    except Exception as err:  # noqa: BLE001 - whatever stops the read: one line, exit 2
        return error(backend_failure(cfg, err))
    print(f"{'value':<24} {'sync':<9} {'location':<48} status")
    sections = (
        ("what `pulumi up` waits for", [r for r in readings if r.entry.sync.await_ready]),
        ("optional (`pulumi up` does not wait for these)", [r for r in readings if not r.entry.sync.await_ready]),
    )
    for title, rows in sections:
        if rows:
            print(f"-- {title}")
        for r in rows:
            print(f"{r.entry.env_var:<24} {r.entry.sync.name.lower():<9} {r.location:<48} {'present' if r.ok else r.state.name}")
    bad = [r for r in readings if not r.ok]
    if bad:
        print("\nwhy:")
        for r in bad:
            print(f"  {r.entry.env_var}: {r.state.value}: {r.reason}")
    blocking = [r for r in bad if r.entry.sync.await_ready]
    print(f"\n{len(readings) - len(bad)} present, {len(bad)} not ({len(blocking)} that `pulumi up` waits for)")
    if blocking:
        print(f"put these before `pulumi up`: {', '.join(r.entry.env_var for r in blocking)}")
    return FINDING if bad else OK


if __name__ == "__main__":
    cli.run(main)

"""Before `pulumi up`: is every catalog value already in the backend?

    python -m stacktools.checkvalues --stack <stack> [--config-file FILE]

For every catalog value, whether the backend holds it: AWS, the secret's
AWSCURRENT version has the property; Vault, the KV v2 path's current version
has the key; GCP, the secret has an enabled version. A REQUIRED or SESSION
value that is missing makes `pulumi up` wait for its ExternalSecret until it
times out, so put it first (docs/deploying.md, Putting the values). Values are read only
to see which keys exist; nothing is printed or kept. Credentials come from the
environment, as for `pulumi up`.

Exit status: 0 every value present, 1 something missing (listed), 2 the config
is invalid or the backend cannot be read (one line naming what was expected).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra import catalog
from infra.backends import VALUE_READER, backend_of, capability
from infra.config import from_stack_file
from infra.fields import ConfigError
from stacktools import cli
from stacktools.cli import backend_failure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.checkvalues", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--config-file", type=Path)
    args = parser.parse_args(argv)
    try:
        cfg = from_stack_file(args.stack, args.config_file)
        reader = capability(backend_of(cfg.backend), VALUE_READER)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    secrets = catalog.CATALOG
    try:
        present = reader(cfg.environment, cfg.backend, secrets)
        rows = [(entry, *present(entry)) for entry in secrets]
    except Exception as err:  # noqa: BLE001 - whatever the client raises: one line, exit 2
        print(backend_failure(cfg, err), file=sys.stderr)
        return 2
    print(f"{'value':<24} {'sync':<9} {'location':<48} status")
    for entry, where, found in rows:
        print(f"{entry.env_var:<24} {entry.sync.name.lower():<9} {where:<48} {'present' if found else 'MISSING'}")
    missing = [entry for entry, _, found in rows if not found]
    blocking = [e for e in missing if e.sync.await_ready]
    print(f"\n{len(rows) - len(missing)} present, {len(missing)} missing ({len(blocking)} that `pulumi up` waits for)")
    if blocking:
        print(f"put these before `pulumi up`: {', '.join(e.env_var for e in blocking)}")
    return 1 if missing else 0


if __name__ == "__main__":
    cli.run(main)

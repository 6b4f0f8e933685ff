"""The offline plan of staging with the catalog scaled ×N by synthetic secrets (benchmark only).

Each copy of the catalog gets its own groups and slugs, so the scaled stack
declares N× the secrets, IAM bindings and ExternalSecret entries.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra import catalog, plan  # noqa: E402


def scaled(factor: int) -> tuple[catalog.SecretEntry, ...]:
    entries = list(catalog.CATALOG)
    for i in range(1, factor):
        entries += [
            dataclasses.replace(e, env_var=f"{e.env_var}_{i}", group=f"{e.group}-{i}", slug=f"{e.slug}-{i}")
            for e in catalog.CATALOG
        ]
    return tuple(entries)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--stack", default="staging")
    parser.add_argument("--config-file", default=None)
    args = parser.parse_args()
    catalog.CATALOG = scaled(args.scale)
    argv = ["--stack", args.stack] + (["--config-file", args.config_file] if args.config_file else [])
    return plan.main(argv)


if __name__ == "__main__":
    sys.exit(main())

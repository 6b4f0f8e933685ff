"""The offline plan of one stack with the catalog scaled ×N by synthetic secrets (benchmark only).

Each copy of the catalog gets its own groups and slugs, so the scaled stack
declares N× the secrets, IAM bindings and ExternalSecret entries. The scaled
catalog is passed to the render; nothing global is replaced.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from infra import catalog
from infra.stackfiles import environments
from stacktools import plan, recorder


def scaled(factor: int) -> catalog.Catalog:
    entries = list(catalog.CATALOG)
    for i in range(1, factor):
        entries += [
            dataclasses.replace(e, env_var=f"{e.env_var}_{i}", group=f"{e.group}-{i}", slug=f"{e.slug}-{i}")
            for e in catalog.CATALOG
        ]
    return catalog.Catalog(entries)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--stack", default=environments()[0])
    parser.add_argument("--config-file", type=Path, default=None)
    args = parser.parse_args()
    print(plan.tree(recorder.render(args.stack, args.config_file, secrets=scaled(args.scale))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

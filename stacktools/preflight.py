"""Before an ESO chart upgrade: is the cluster safe to move?

    python -m stacktools.preflight --stack <stack> [--new-values FILE]

An ESO upgrade bricks the CRDs when an older API version is still *stored*:
the new chart's CRDs no longer list it, the API server refuses the update,
and every ExternalSecret becomes unreadable (ESO issues #4665, #4784, #5141).
This reads ``status.storedVersions`` of every ``external-secrets.io`` CRD
through the stack's own context and refuses while anything but ``v1`` is
stored, printing the migration steps. With ``--new-values`` (the new chart's
``helm show values external-secrets --version X``) it also warns about every
value this stack sets that the new chart no longer has.

Exit status: 0 safe, 1 refused (a stored version other than v1), 2 a
prerequisite is missing (kubectl, the context) or the config is invalid.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from infra.config import from_stack_file
from infra.fields import ConfigError
from stacktools.ops import OpsError, _kubectl, _run

GROUP = "external-secrets.io"
MIGRATION = """\
Migrate the stored objects to v1 before the upgrade:
  1. Serve the old version again if the running chart no longer does: set crds.unsafeServeV1Beta1: true for this run.
  2. Rewrite every object so the API server stores it as v1, e.g.:
       kubectl --context {ctx} get externalsecrets.{group},clustersecretstores.{group},secretstores.{group} -A -o json \\
         | kubectl --context {ctx} replace -f -
  3. Drop the old version from each CRD's status:
       kubectl --context {ctx} patch crd <name> --subresource=status --type=merge -p '{{"status":{{"storedVersions":["v1"]}}}}'
  4. Run this check again; upgrade only when it passes (README, Upgrading ESO)."""


def stored_old_versions(crds: dict[str, Any]) -> dict[str, list[str]]:
    """``{crd: [stored versions other than v1]}`` for the external-secrets.io CRDs of a ``kubectl get crd -o json``."""
    old = {}
    for item in crds.get("items", []):
        name = item.get("metadata", {}).get("name", "")
        if not name.endswith(f".{GROUP}"):
            continue
        versions = [v for v in item.get("status", {}).get("storedVersions", []) if v != "v1"]
        if versions:
            old[name] = versions
    return old


def _paths(values: Any, prefix: str = "") -> set[str]:
    if not isinstance(values, dict):
        return {prefix} if prefix else set()
    out = {prefix} if prefix else set()
    for key, value in values.items():
        out |= _paths(value, f"{prefix}.{key}" if prefix else str(key))
    return out


def removed_values(ours: dict[str, Any], new_chart_defaults: dict[str, Any]) -> list[str]:
    """Value paths this stack sets that the new chart's values.yaml no longer declares."""
    known = _paths(new_chart_defaults)
    # A map the chart declares (annotations, labels, ...) takes any keys below it.
    open_maps = {p for p in known if _lookup(new_chart_defaults, p) == {}}
    return sorted(p for p in _paths(ours) if p not in known and not any(p.startswith(f"{m}.") for m in open_maps))


def _lookup(values: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        values = values.get(part) if isinstance(values, dict) else None
    return values


def _new_values(path: Path) -> dict:
    """The new chart's values file, or one ConfigError line saying why it cannot be used."""
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as err:
        raise ConfigError(f"--new-values: cannot read {str(path)!r} ({type(err).__name__}; allowed: the output of `helm show values`)") from None
    if not isinstance(values, dict):
        raise ConfigError(f"--new-values: {str(path)!r} is not a mapping (allowed: the output of `helm show values`)")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.preflight", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--config-file", type=Path)
    parser.add_argument("--new-values", type=Path, help="the new chart's default values (helm show values ...)")
    args = parser.parse_args(argv)
    try:
        cfg = from_stack_file(args.stack, args.config_file)
        new_values = _new_values(args.new_values) if args.new_values else None
        kubectl = _kubectl(cfg.common.kube_context)
    except (ConfigError, OpsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result = _run([*kubectl, "get", "crd", "-o", "json"])
    if result.returncode != 0:
        print(f"error: kubectl get crd failed: {result.stderr.strip()}", file=sys.stderr)
        return 2
    try:
        old = stored_old_versions(json.loads(result.stdout or "{}"))
    except (ValueError, AttributeError, TypeError):
        print("error: kubectl get crd: the answer is not a CRD list", file=sys.stderr)
        return 2
    if new_values is not None:
        from components.eso import helm_values
        from infra.stack import eso_args

        ours = helm_values(eso_args(cfg.common))
        for path in removed_values(ours, new_values):
            print(f"warning: this stack sets `{path}`, which the new chart does not declare: it would be ignored")
    if old:
        for crd, versions in sorted(old.items()):
            print(f"refused: CRD {crd} still stores {', '.join(versions)}")
        print(MIGRATION.format(ctx=cfg.common.kube_context, group=GROUP))
        return 1
    print(f"ok: every {GROUP} CRD stores only v1; the chart can be upgraded")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Before an ESO chart upgrade, or before adopting an installed ESO: is the cluster ready for this stack?

    python -m stacktools.preflight --stack <stack> [--new-values FILE]

An ESO upgrade bricks the CRDs when an older API version is still *stored*:
the new chart's CRDs no longer list it, the API server refuses the update,
and every ExternalSecret becomes unreadable (ESO issues #4665, #4784, #5141).
This reads ``status.storedVersions`` of every CRD of ESO's API group
through the stack's own context (each cluster's, for a stack with
``clusters``) and refuses while anything but ``v1`` is
stored, printing the migration steps. With ``--new-values`` (the new chart's
``helm show values external-secrets --version X``) it also warns about every
value this stack sets that the new chart no longer has.

With ``esoInstall: external`` it also checks the ESO the platform installed:
that it serves ESO's ``v1`` ClusterSecretStore and
ExternalSecret (the kinds this stack declares), that its controller's version
is in the supported range (the major version of ``esoChartVersion``, the one
the stack is tested against, from X.0.0 on), and that the configured service
account exists.

Every kubectl call is bounded (``--request-timeout`` per request, the tool's
deadline in all, ``--deadline``). A cluster without ESO's API group
CRDs this stack declares (ClusterSecretStore, ExternalSecret, served as v1) is
refused: it is the wrong cluster or has no ESO, and there is nothing to check.

Exit status: 0 safe, 1 refused (a stored version other than v1, an installed
ESO that cannot serve this stack), 2 cannot check: a prerequisite is missing
(kubectl, the context), the config is invalid, the cluster has no ESO CRDs, a
kubectl call failed or the deadline passed.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import yaml

from components import eso_api
from infra.backends.reading import DeadlineExceeded
from infra.config import EsoInstall, from_stack_file
from infra.fields import ConfigError
from stacktools import cli
from stacktools.cli import FINDING, OK
from stacktools.ops import Kubectl, OpsError, Unreachable

GROUP = eso_api.GROUP
MIGRATION = """\
Migrate the stored objects to v1 before the upgrade:
  1. Serve the old version again if the running chart no longer does: set crds.unsafeServeV1Beta1: true for this run.
  2. Rewrite every object so the API server stores it as v1, e.g.:
       kubectl --context {ctx} get externalsecrets.{group},clustersecretstores.{group},secretstores.{group} -A -o json \\
         | kubectl --context {ctx} replace -f -
  3. Drop the old version from each CRD's status:
       kubectl --context {ctx} patch crd <name> --subresource=status --type=merge -p '{{"status":{{"storedVersions":["v1"]}}}}'
  4. Run this check again; upgrade only when it passes (docs/operations.md, Upgrading ESO)."""


EXPECTED_CRDS = tuple(f"{kind}.{GROUP}" for kind in ("clustersecretstores", "externalsecrets"))
"""The CRDs of the kinds this stack declares: a cluster without them is not an ESO cluster (or not this one)."""


def missing_crds(crds: dict[str, Any]) -> list[str]:
    """The expected CRDs a ``kubectl get crd -o json`` lacks, or that do not serve v1."""
    serving = {
        item.get("metadata", {}).get("name", ""): {v.get("name") for v in item.get("spec", {}).get("versions", []) if v.get("served", True)}
        for item in crds.get("items", [])
        if isinstance(item, dict)
    }
    return [name for name in EXPECTED_CRDS if "v1" not in serving.get(name, set())]


def stored_old_versions(crds: dict[str, Any]) -> dict[str, list[str]]:
    """``{crd: [stored versions other than v1]}`` for ESO's CRDs (``GROUP``) of a ``kubectl get crd -o json``."""
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


KINDS = ("clustersecretstores", "externalsecrets")


def _semver(text: str) -> tuple[int, int, int] | None:
    match = re.fullmatch(r"v?([0-9]+)\.([0-9]+)\.([0-9]+)(?:[-+].*)?", text.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def installed_version(deployments: dict[str, Any]) -> str | None:
    """The ESO controller's version from ``kubectl get deploy -o json``: its version label, else its image tag."""
    for item in deployments.get("items", []):
        labels = item.get("metadata", {}).get("labels", {}) or {}
        if labels.get("app.kubernetes.io/version"):
            return str(labels["app.kubernetes.io/version"])
        for container in item.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            image = str(container.get("image", ""))
            if ":" in image.rsplit("/", 1)[-1]:
                return image.rsplit(":", 1)[1]
    return None


def external_problems(served: dict[str, Any], deployments: dict[str, Any], account_found: bool, chart_version: str, account: str) -> list[str]:
    """Why an installed ESO cannot serve this stack (empty: it can)."""
    problems = []
    names = {r.get("name") for r in served.get("resources", []) if isinstance(r, dict)}
    for kind in KINDS:
        if kind not in names:
            problems.append(f"the cluster does not serve {GROUP}/v1 {kind} (an ESO older than 0.16, or its CRDs missing)")
    major = int(chart_version.split(".")[0])
    version = installed_version(deployments)
    parsed = _semver(version) if version else None
    if version is None:
        problems.append(f"no ESO controller deployment found in the namespace of {account}")
    elif parsed is None or parsed[0] != major:
        problems.append(f"ESO {version} is installed (supported: {major}.x, the major of esoChartVersion {chart_version})")
    if not account_found:
        problems.append(f"service account {account} not found (esoServiceAccount)")
    return problems


def _json(result) -> dict[str, Any]:
    try:
        value = json.loads(result.stdout or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


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
    cli.add_deadline(parser)
    args = parser.parse_args(argv)
    try:
        deadline = cli.deadline(args)
        cfg = from_stack_file(args.stack, args.config_file)
        new_values = _new_values(args.new_values) if args.new_values else None
        # Every cluster of the stack (``clusters``), home first, each through its own context and with its
        # own ESO settings; the worst answer is the tool's.
        status = OK
        for common in [c.common for c in cfg.clusters] or [cfg.common]:
            if len(cfg.clusters) > 1:
                print(f"context {common.kube_context}:", flush=True)
            status = max(status, _check(common, Kubectl(common.kube_context, deadline), new_values))
        return status
    except (ConfigError, OpsError, Unreachable, DeadlineExceeded, ValueError) as err:
        return cli.error(str(err))


def _check(common, kubectl: Kubectl, new_values: dict | None) -> int:
    """One cluster, as ``common`` (that cluster's settings) describes it."""
    result = kubectl("get", "crd", "-o", "json")
    try:
        crds = json.loads(result.stdout or "{}")
        old = stored_old_versions(crds)
        absent = missing_crds(crds)
    except (ValueError, AttributeError, TypeError):
        return cli.error("kubectl get crd: the answer is not a CRD list")
    if absent:
        return cli.error(
            f"context {common.kube_context} has no {GROUP} CRD serving v1 for {', '.join(absent)}: "
            "not a cluster with ESO (the wrong context, or ESO not installed): nothing to check"
        )
    if common.eso_install is EsoInstall.EXTERNAL:
        account = common.eso_account
        served = kubectl("get", "--raw", f"/apis/{GROUP}/v1")
        deployments = kubectl("-n", account.namespace, "get", "deploy", "-l", "app.kubernetes.io/name=external-secrets", "-o", "json")
        found = kubectl("-n", account.namespace, "get", "serviceaccount", account.name, "-o", "name")
        problems = external_problems(
            _json(served) if served.returncode == 0 else {},
            _json(deployments) if deployments.returncode == 0 else {},
            found.returncode == 0,
            common.eso_chart_version,
            f"{account.namespace}/{account.name}",
        )
        for problem in problems:
            print(f"refused: {problem}")
        if problems:
            return FINDING
        print(f"ok: the installed ESO serves {GROUP}/v1 and runs a supported version")
    if new_values is not None:
        from components.eso import helm_values
        from infra.stack import eso_args

        ours = helm_values(eso_args(common))
        for path in removed_values(ours, new_values):
            print(f"warning: this stack sets `{path}`, which the new chart does not declare: it would be ignored")
    if old:
        for crd, versions in sorted(old.items()):
            print(f"refused: CRD {crd} still stores {', '.join(versions)}")
        print(MIGRATION.format(ctx=common.kube_context, group=GROUP))
        return FINDING
    print(f"ok: every {GROUP} CRD stores only v1; the chart can be upgraded")
    return OK


if __name__ == "__main__":
    cli.run(main)

"""Day-2 operations on a deployed stack: force a re-sync, verify the sync.

    python -m infra.ops force-sync --stack staging [--restart deployment/aragora]
    python -m infra.ops verify --stack staging

Names are never hard-coded: the namespace, ExternalSecret/Secret names, the
store and the kubeconfig context come from the stack's outputs
(``pulumi stack output --json``) when the Pulumi CLI can read them, else from
the offline plan of the same stack config. Every kubectl call names the stack's
context, so an operator's current context never matters. Secret values are
never printed: ``verify`` lists key names only.

Exit status: 0 done, 1 a check failed, 2 a prerequisite is missing (kubectl,
the context) or the config is invalid.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra import plan as plan_mod  # noqa: E402
from infra.config import PROJECT, ConfigError, parse, project_keys  # noqa: E402


class OpsError(Exception):
    """A prerequisite is missing; the message says what to do."""


@dataclass(frozen=True)
class Target:
    context: str
    namespace: str
    external_secrets: list[str]
    store: str
    source: str


def _pulumi_outputs(stack: str) -> dict | None:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        return None
    result = subprocess.run(
        [pulumi, "stack", "output", "--json", "--stack", stack], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        return None
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        return None


def resolve(stack: str, config_file: Path | None = None) -> Target:
    """Names from the deployed stack when readable, else from the offline plan."""
    context = parse(project_keys(plan_mod.stack_config(stack, config_file)), stack).kube_context
    outputs, source = _pulumi_outputs(stack), "pulumi stack output"
    if not outputs or "secretNames" not in outputs:
        outputs, source = plan_mod.render(stack, config_file).outputs, "offline plan (no readable stack outputs)"
    if "secretNames" not in outputs:
        raise OpsError(f"stack {stack} declares no ExternalSecrets (bootstrap is on): nothing to sync")
    return Target(context, outputs["appNamespace"], list(outputs["secretNames"]), outputs["storeName"], source)


def _kubectl(context: str) -> list[str]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise OpsError("kubectl not found on PATH: install it (https://kubernetes.io/docs/tasks/tools/) and retry")
    contexts = subprocess.run([kubectl, "config", "get-contexts", "-o", "name"], capture_output=True, text=True, timeout=60)
    if context not in contexts.stdout.split():
        raise OpsError(
            f"kubeconfig has no context {context!r} (the stack's {PROJECT}:kubeContext): "
            f"add it, e.g. `aws eks update-kubeconfig --alias {context} ...`, or fix the stack config"
        )
    return [kubectl, "--context", context]


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    print("+ " + " ".join(argv[1:]), flush=True)
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


SESSION_SUFFIX = "-session"


def force_sync(target: Target, restart: str | None) -> int:
    """Annotate every ExternalSecret but the session one, then optionally restart.

    The annotation changes the object, which is exactly what the session
    ExternalSecret's ``OnChange`` policy re-reads on: a routine force-sync must
    not rotate the JWT secret. That one changes only through ``jwtRotation``.
    """
    kubectl = _kubectl(target.context)
    stamp = str(int(time.time()))
    failed = 0
    for name in target.external_secrets:
        if name.endswith(SESSION_SUFFIX):
            print(f"skip {name}: the JWT secret re-syncs only via `pulumi config set jwtRotation ...` (README, Rotation rules)")
            continue
        result = _run([*kubectl, "-n", target.namespace, "annotate", "externalsecret", name, f"force-sync={stamp}", "--overwrite"])
        print(result.stdout.strip() or result.stderr.strip())
        failed |= result.returncode != 0
    if restart and not failed:
        result = _run([*kubectl, "-n", target.namespace, "rollout", "restart", restart])
        print(result.stdout.strip() or result.stderr.strip())
        failed |= result.returncode != 0
    return 1 if failed else 0


def verify(target: Target) -> int:
    kubectl = _kubectl(target.context)
    failed = False
    store = _run([*kubectl, "get", "clustersecretstore", target.store, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"])
    print(f"ClusterSecretStore {target.store}: Ready={store.stdout.strip() or 'unknown'}")
    failed |= store.stdout.strip() != "True"
    for name in target.external_secrets:
        es = _run([*kubectl, "-n", target.namespace, "get", "externalsecret", name, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"])
        keys = _run([*kubectl, "-n", target.namespace, "get", "secret", name, "-o", "jsonpath={.data}"])
        try:
            names = sorted(json.loads(keys.stdout or "{}"))
        except json.JSONDecodeError:
            names = []
        ready = es.stdout.strip() or "unknown"
        print(f"ExternalSecret {target.namespace}/{name}: Ready={ready}; Secret keys: {', '.join(names) or '(none)'}")
        if name.endswith("-optional"):
            continue  # optional integrations may legitimately be absent
        failed |= ready != "True" or not names
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.ops", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["force-sync", "verify"])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--config-file", type=Path)
    parser.add_argument("--restart", help="after force-sync, `kubectl rollout restart` this (e.g. deployment/aragora)")
    args = parser.parse_args(argv)
    try:
        target = resolve(args.stack, args.config_file)
        print(f"stack {args.stack}: context {target.context}, namespace {target.namespace} (names from {target.source})")
        return force_sync(target, args.restart) if args.action == "force-sync" else verify(target)
    except (ConfigError, OpsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

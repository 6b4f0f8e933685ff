"""Day-2 operations on a deployed stack: force a re-sync, verify the sync.

    python -m stacktools.ops force-sync --stack <stack> [--restart deployment/aragora]
    python -m stacktools.ops verify --stack <stack>

What to touch comes from the catalog's sync classes (which Secret each class
writes, whether a force-sync is safe for it, whether it must be synced) and
from the stack's outputs (``pulumi stack output --json``) when the Pulumi CLI
can read them; without the CLI, from the same catalog and the selected
backend's store name. Every kubectl call names the stack's context, so an
operator's current context never matters. Secret values are never printed:
``verify`` lists key names only.

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

from infra import catalog
from infra.config import from_stack_file
from infra.fields import PROJECT, ConfigError
from infra.stackfiles import ROOT
from stacktools import cli


class OpsError(Exception):
    """A prerequisite is missing; the message says what to do."""


@dataclass(frozen=True)
class Target:
    context: str
    namespace: str
    store: str
    external_secrets: dict[str, catalog.SyncClass]
    """ExternalSecret (= target Secret) name -> its sync class."""
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


def resolve(stack: str, config_file: Path | None = None, secrets: catalog.Catalog = catalog.CATALOG) -> Target:
    """Names from the deployed stack's outputs when readable, else from the catalog."""
    cfg = from_stack_file(stack, config_file)
    outputs = _pulumi_outputs(stack)
    if outputs and "syncClasses" in outputs:
        by_name = {s.name: s for s in catalog.SYNC_CLASSES}
        return Target(
            cfg.common.kube_context,
            outputs["appNamespace"],
            outputs["storeName"],
            {es: by_name[sync] for es, sync in outputs["syncClasses"].items()},
            "pulumi stack output",
        )
    return Target(
        cfg.common.kube_context,
        secrets.app.namespace,
        cfg.backend.store_name,
        {secrets.target_secret(sync): sync for sync in secrets.by_sync_class},
        "the catalog (no readable stack outputs)",
    )


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


def force_sync(target: Target, restart: str | None) -> int:
    """Annotate every ExternalSecret whose sync class allows it, then optionally restart.

    The annotation changes the object, which is exactly what an ``OnChange``
    ExternalSecret re-reads on: a routine force-sync must not rotate the JWT
    secret. That one changes only through ``jwtRotation``.
    """
    kubectl = _kubectl(target.context)
    stamp = str(int(time.time()))
    failed = 0
    for name, sync in target.external_secrets.items():
        if not sync.force_sync_allowed:
            print(f"skip {name}: refreshPolicy {sync.refresh_policy} would re-read it on the annotation; "
                  "it re-syncs only via `pulumi config set jwtRotation ...` (docs/operations.md, Rotation rules)")
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
    for name, sync in target.external_secrets.items():
        es = _run([*kubectl, "-n", target.namespace, "get", "externalsecret", name, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"])
        keys = _run([*kubectl, "-n", target.namespace, "get", "secret", name, "-o", "jsonpath={.data}"])
        try:
            names = sorted(json.loads(keys.stdout or "{}"))
        except json.JSONDecodeError:
            names = []
        ready = es.stdout.strip() or "unknown"
        print(f"ExternalSecret {target.namespace}/{name}: Ready={ready}; Secret keys: {', '.join(names) or '(none)'}")
        if sync.must_sync:
            failed |= ready != "True" or not names
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.ops", description=__doc__.split("\n\n")[0])
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
    cli.run(main)

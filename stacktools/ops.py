"""Day-2 operations on a deployed stack: force a re-sync, verify the sync.

    python -m stacktools.ops force-sync --stack <stack> [--restart deployment/aragora] [--deadline SECONDS]
    python -m stacktools.ops verify --stack <stack> [--backend] [--deadline SECONDS]

What to touch comes from the catalog's sync classes (which Secret each class
writes, whether a force-sync is safe for it, whether it must be synced) and
from the stack's outputs (``pulumi stack output --json``) when the Pulumi CLI
can read them; without the CLI, from the same catalog and the selected
backend's store name. A stack with several clusters (``clusters``) is acted
on in each, through each cluster's own context, home first. Every kubectl call
names the cluster's context, so an operator's current context never matters, and every call is bounded
(``--request-timeout`` per request, the tool's deadline in all). ``verify``
checks that every target Secret holds every catalog key of its sync class,
non-empty; with ``--backend`` it also reads the backend through the reader
``check-values`` and ``rotation-report`` use (``infra/backends/<name>/reader.py``),
so a value the backend no longer holds fails even while its Secret keeps the
last synced copy. Secret values are never printed: ``verify`` lists key names only.

Exit status: 0 done, 1 a check failed (not Ready, a key missing or empty, an
object not found), 2 cannot check: a prerequisite is missing (kubectl, the
context), the config is invalid, a kubectl call failed (its error is shown) or
the deadline passed (the line names the call that hung).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from infra import catalog
from infra.backends.reading import DEFAULT_DEADLINE_SECONDS, Deadline, DeadlineExceeded, Reading, one_line, reader
from infra.config import from_stack_file
from infra.fields import PROJECT, ConfigError
from infra.stackfiles import ROOT
from stacktools import cli
from stacktools.cli import FINDING, OK


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


PULUMI_TIMEOUT_SECONDS = 30


def _pulumi_outputs(stack: str, deadline: Deadline) -> dict | None:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        return None
    timeout = deadline.bound(PULUMI_TIMEOUT_SECONDS, f"pulumi stack output --stack {stack}")
    try:
        result = subprocess.run(
            [pulumi, "stack", "output", "--json", "--stack", stack], cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise OpsError(f"pulumi stack output --stack {stack} did not answer within {timeout:.0f}s (its state backend or login)") from None
    if result.returncode != 0:
        return None
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        return None


def resolve(stack: str, config_file: Path | None = None, secrets: catalog.Catalog = catalog.CATALOG, *, deadline: Deadline | None = None) -> Target:
    """Names from the deployed stack's outputs when readable, else from the catalog (its home cluster's context)."""
    return resolve_all(stack, config_file, secrets, deadline=deadline)[0]


def resolve_all(
    stack: str, config_file: Path | None = None, secrets: catalog.Catalog = catalog.CATALOG, *, deadline: Deadline | None = None
) -> list[Target]:
    """One target per cluster of the stack (``clusters``), home first: each cluster's own kubeContext, and the
    names every cluster shares (each has its own store and ExternalSecrets under the same names, infra.stack)."""
    cfg = from_stack_file(stack, config_file)
    contexts = [c.common.kube_context for c in cfg.clusters] or [cfg.common.kube_context]
    outputs = _pulumi_outputs(stack, deadline or Deadline(DEFAULT_DEADLINE_SECONDS))
    if outputs and "syncClasses" in outputs:
        by_name = {s.name: s for s in catalog.SYNC_CLASSES}
        return [
            Target(
                context,
                outputs["appNamespace"],
                outputs["storeName"],
                {es: by_name[sync] for es, sync in outputs["syncClasses"].items()},
                "pulumi stack output",
            )
            for context in contexts
        ]
    return [
        Target(
            context,
            secrets.app.namespace,
            cfg.backend.store_name,
            {secrets.target_secret(sync): sync for sync in secrets.by_sync_class},
            "the catalog (no readable stack outputs)",
        )
        for context in contexts
    ]


REQUEST_TIMEOUT_SECONDS = 10
"""kubectl's ``--request-timeout`` for one API request, never past the tool's deadline."""


class Kubectl:
    """kubectl against the stack's context only, every call bounded: ``--request-timeout`` per request and the
    tool's deadline for the whole process (a server that answers discovery but hangs on objects, or never
    answers at all, ends the tool with one line naming the call, exit 2)."""

    def __init__(self, context: str, deadline: Deadline):
        self.context = context
        self.deadline = deadline
        binary = shutil.which("kubectl")
        if binary is None:
            raise OpsError("kubectl not found on PATH: install it (https://kubernetes.io/docs/tasks/tools/) and retry")
        self.binary = binary
        contexts = self._process([binary, "config", "get-contexts", "-o", "name"], "kubectl config get-contexts")
        if context not in contexts.stdout.split():
            raise OpsError(
                f"kubeconfig has no context {context!r} (the stack's {PROJECT}:kubeContext): "
                f"add it, e.g. `aws eks update-kubeconfig --alias {context} ...`, or fix the stack config"
            )

    def _process(self, argv: list[str], what: str) -> subprocess.CompletedProcess:
        timeout = self.deadline.bound(float("inf"), what)
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise self.deadline.exceeded() from None

    def __call__(self, *args: str, quiet: bool = False) -> subprocess.CompletedProcess:
        """One kubectl call, echoed; a call the server did not answer in time raises ``Unreachable``."""
        what = f"kubectl --context {self.context} {' '.join(args)}"
        request = max(1, math.ceil(self.deadline.bound(REQUEST_TIMEOUT_SECONDS, what)))
        if not quiet:
            print(f"+ {' '.join(args)}", flush=True)
        result = self._process([self.binary, "--context", self.context, f"--request-timeout={request}s", *args], what)
        if result.returncode != 0 and not _not_found(result):
            raise Unreachable(f"{what} failed: {one_line(result.stderr) or f'exit {result.returncode}'}")
        return result


class Unreachable(Exception):
    """A kubectl call failed for another reason than a missing object: the cluster cannot be checked."""


def _not_found(result: subprocess.CompletedProcess) -> bool:
    return "(NotFound)" in result.stderr or " not found" in result.stderr


def force_sync(target: Target, restart: str | None, kubectl: Kubectl) -> int:
    """Annotate every ExternalSecret whose sync class allows it, then optionally restart.

    The annotation changes the object, which is exactly what an ``OnChange``
    ExternalSecret re-reads on: a routine force-sync must not rotate the JWT
    secret. That one changes only through ``jwtRotation``.
    """
    stamp = str(int(time.time()))
    failed = 0
    for name, sync in target.external_secrets.items():
        if not sync.force_sync_allowed:
            print(f"skip {name}: refreshPolicy {sync.refresh_policy} would re-read it on the annotation; "
                  "it re-syncs only via `pulumi config set jwtRotation ...` (docs/operations.md, Rotation rules)")
            continue
        result = kubectl("-n", target.namespace, "annotate", "externalsecret", name, f"force-sync={stamp}", "--overwrite")
        print(result.stdout.strip() or f"not found: {one_line(result.stderr)}")
        failed |= result.returncode != 0
    if restart and not failed:
        result = kubectl("-n", target.namespace, "rollout", "restart", restart)
        print(result.stdout.strip() or f"not found: {one_line(result.stderr)}")
        failed |= result.returncode != 0
    return FINDING if failed else OK


READY = "jsonpath={.status.conditions[?(@.type=='Ready')].status}"


def verify(target: Target, kubectl: Kubectl, secrets: catalog.Catalog = catalog.CATALOG, readings: list[Reading] | None = None) -> int:
    """The store and every ExternalSecret Ready, and every target Secret holding every catalog key of its
    sync class, non-empty. With ``readings`` (the backend's reader, as check-values and rotation-report read
    it), a value the backend no longer holds is a finding even while its Secret still has the last copy.
    Only a class that must sync fails the check; key names only, never values."""
    failed = False
    store = kubectl("get", "clustersecretstore", target.store, "-o", READY)
    ready = store.stdout.strip() if store.returncode == 0 else "not found"
    print(f"ClusterSecretStore {target.store}: Ready={ready or 'unknown'}")
    failed |= ready != "True"
    backend = {r.entry.env_var: r for r in readings or []}
    for name, sync in target.external_secrets.items():
        es = kubectl("-n", target.namespace, "get", "externalsecret", name, "-o", READY)
        secret = kubectl("-n", target.namespace, "get", "secret", name, "-o", "jsonpath={.data}")
        ready = es.stdout.strip() if es.returncode == 0 else "not found"
        try:
            data = json.loads(secret.stdout or "{}") if secret.returncode == 0 else {}
        except json.JSONDecodeError:
            data = {}
        data = data if isinstance(data, dict) else {}
        expected = [e.env_var for e in secrets.by_sync_class.get(sync, ())]
        missing = [k for k in expected if k not in data]
        empty = [k for k in expected if k in data and not data[k]]
        gone = [f"{k} ({backend[k].state.value}: {backend[k].reason})" for k in expected if k in backend and not backend[k].ok]
        problems = [f"missing {', '.join(missing)}"] * bool(missing) + [f"empty {', '.join(empty)}"] * bool(empty)
        problems += [f"not in the backend: {', '.join(gone)}"] * bool(gone)
        where = f"Secret keys: {', '.join(sorted(data)) or '(none)'}" if secret.returncode == 0 else "Secret not found"
        print(f"ExternalSecret {target.namespace}/{name}: Ready={ready or 'unknown'}; {where}{'; ' + '; '.join(problems) if problems else ''}")
        if sync.must_sync:
            failed |= ready != "True" or secret.returncode != 0 or bool(problems)
    return FINDING if failed else OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.ops", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["force-sync", "verify"])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--config-file", type=Path)
    parser.add_argument("--restart", help="after force-sync, `kubectl rollout restart` this (e.g. deployment/aragora)")
    parser.add_argument("--backend", action="store_true", help="verify: also read the backend (its credentials, as check-values): a value it no longer holds fails")
    cli.add_deadline(parser)
    args = parser.parse_args(argv)
    try:
        deadline = cli.deadline(args)
        targets = resolve_all(args.stack, args.config_file, deadline=deadline)
        readings = _backend(args, deadline) if args.backend and args.action == "verify" else None
        # Every cluster of the stack, each through its own context; a finding in any is the tool's.
        status = OK
        for target in targets:
            print(f"stack {args.stack}: context {target.context}, namespace {target.namespace} (names from {target.source})", flush=True)
            if args.action == "force-sync":
                status = max(status, force_sync(target, args.restart, Kubectl(target.context, deadline)))
            else:
                status = max(status, verify(target, Kubectl(target.context, deadline), readings=readings))
        return status
    except (ConfigError, OpsError, Unreachable, DeadlineExceeded, ValueError) as err:
        return cli.error(str(err))


def _backend(args, deadline: Deadline) -> list[Reading]:
    """Every catalog value as the stack's backend holds it (OpsError naming the backend when it cannot be read)."""
    cfg = from_stack_file(args.stack, args.config_file)
    try:
        return reader(cfg.environment, cfg.backend, catalog.CATALOG, deadline=deadline)
    except Exception as err:  # noqa: BLE001 - whatever stops the read: one line, exit 2
        raise OpsError(cli.backend_failure(cfg, err)) from None


if __name__ == "__main__":
    cli.run(main)

"""Manifests to run every stack on the Pulumi Kubernetes Operator v2, from the stack files.

    python -m stacktools.operator --out DIR [--repo URL --branch main | --flux-source Kind/name]
                                  [--state s3://bucket --secrets-provider awskms://...] [--namespace NS]

One ``pulumi.com/v1`` ``Stack`` per ``Pulumi.<stack>.yaml``, each with its own
workspace service account, which carries the stack's deployer identity (its
backend's ``workspace``: IRSA or Workload Identity annotations), so no static
cloud credential exists; that account is bound to ``system:auth-delegator``
only (what the operator requires of a workspace: it checks the operator's
requests to the workspace through the API server). ``deployWave`` becomes
``prerequisites`` (a stack waits for every stack of the nearest earlier wave to
have succeeded within the hour: the operator re-runs a stale one first);
``driftCheck`` becomes ``resyncFrequencySeconds`` with ``refresh``,
``expectNoRefreshChanges`` and ``continueResyncOnCommitMatch``, so a drifted
stack fails (the operator's ``stacks_failing`` metric) instead of being
silently overwritten. ``destroyOnFinalize`` is false: deleting a ``Stack``
object never destroys an environment.

Field names and types are the operator's v2.9.0 CRD (``tests/fixtures``);
the tests validate every generated ``Stack`` against it.

Exit status: 0 written, 2 an invalid stack file, a stack without its deployer
identity, or a bad option (one line on stderr, nothing written).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.backends import WORKSPACE, backend_of, capability
from infra.config import DriftCheck, StackConfig, check_separation
from infra.fields import PROJECT, ConfigError
from infra.stackfiles import ROOT, stack_file
from stacktools import cli
from stacktools.matrix import stacks

# The operator's own examples at v2.9.0 pin this image; a pinned CLI makes a
# drift run reproducible (`latest` would change the engine under a stack).
WORKSPACE_IMAGE = "pulumi/pulumi:3.202.0-nonroot"
RESYNC_SECONDS = {DriftCheck.HOURLY: 3600, DriftCheck.DAILY: 86400}
# A later wave runs only if the earlier one succeeded this recently (else the operator re-runs it first).
PREREQUISITE_FRESHNESS = "1h"
KUBECONFIG_DIR = "/var/run/aragora-secrets/kube"
PLACEHOLDER_REPO = "https://git.example.com/platform/aragora-secrets.git"
STATE_SCHEMES = ("s3://", "gs://", "azblob://", "https://")
SECRETS_SCHEMES = ("awskms://", "gcpkms://", "azurekeyvault://", "hashivault://")
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_FLUX = re.compile(r"(GitRepository|OCIRepository|Bucket)/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)")


class OptionError(ValueError):
    """A bad command-line option: one line, exit 2."""


@dataclass(frozen=True)
class Source:
    """Where the workspace fetches the program: a git repository and branch, or a Flux source."""

    repo: str | None = None
    branch: str | None = None
    flux: tuple[str, str] | None = None
    """(kind, name) of a Flux source in the Stack's namespace."""


@dataclass(frozen=True)
class State:
    backend: str | None
    """None: Pulumi Cloud (the token comes from a Secret); else a self-managed backend URL."""
    secrets_provider: str | None


def names(environment: str) -> str:
    return f"{PROJECT}-{environment}"


def prerequisites(cfg: StackConfig, every: Sequence[StackConfig]) -> list[dict[str, Any]]:
    """Every stack of the nearest earlier wave: wave 3 waits for wave 2, which waited for wave 1."""
    earlier = [c.common.deploy_wave for c in every if c.common.deploy_wave < cfg.common.deploy_wave]
    if not earlier:
        return []
    wave = max(earlier)
    return [
        {"name": names(c.environment), "requirement": {"succeededWithinDuration": PREREQUISITE_FRESHNESS}}
        for c in every
        if c.common.deploy_wave == wave
    ]


def manifests(cfg: StackConfig, every: Sequence[StackConfig], source: Source, state: State, namespace: str) -> list[dict]:
    """The workspace's service account, its one binding, and the Stack."""
    workspace = capability(backend_of(cfg.backend), WORKSPACE)(cfg.backend)
    if workspace.identity_key and not workspace.identity:
        raise ConfigError(
            f"{PROJECT}:{workspace.identity_key}: missing in {stack_file(cfg.environment).name} "
            f"(the operator's workspace runs as this identity; no static credential is generated)"
        )
    name = names(cfg.environment)
    labels = {"app.kubernetes.io/part-of": PROJECT, f"{PROJECT}/deploy-wave": str(cfg.common.deploy_wave)}
    service_account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": dict(workspace.annotations)},
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"{name}:system:auth-delegator", "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    }
    env = [{"name": k, "value": v} for k, v in sorted(workspace.env.items())]
    # The program reads KUBECONFIG when kubeconfig is unset; the file's context is the stack's kubeContext.
    env.append({"name": "KUBECONFIG", "value": f"{KUBECONFIG_DIR}/config"})
    spec: dict[str, Any] = {
        "stack": cfg.environment,
        "serviceAccountName": name,
        "refresh": True,
        "expectNoRefreshChanges": True,
        "continueResyncOnCommitMatch": True,
        "resyncFrequencySeconds": RESYNC_SECONDS[cfg.common.drift_check],
        "destroyOnFinalize": False,
        "workspaceReclaimPolicy": "Delete",
        "workspaceTemplate": {
            "spec": {
                "image": WORKSPACE_IMAGE,
                "securityProfile": "restricted",
                "env": env,
                "podTemplate": {
                    "spec": {
                        "volumes": [{"name": "kubeconfig", "secret": {"secretName": f"{name}-kubeconfig"}}],
                        "containers": [
                            {"name": "pulumi", "volumeMounts": [{"name": "kubeconfig", "mountPath": KUBECONFIG_DIR, "readOnly": True}]}
                        ],
                    }
                },
            }
        },
    }
    if source.flux:
        kind, flux_name = source.flux
        spec["fluxSource"] = {"sourceRef": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": kind, "name": flux_name}}
    else:
        spec.update({"projectRepo": source.repo, "branch": source.branch, "shallow": True})
    if state.backend:
        spec["backend"] = state.backend
    else:
        # Pulumi Cloud: its access token is the one secret, read by the operator from a Secret you create.
        spec["envRefs"] = {"PULUMI_ACCESS_TOKEN": {"type": "Secret", "secret": {"name": "pulumi-api-secret", "key": "accessToken"}}}
    if state.secrets_provider:
        spec["secretsProvider"] = state.secrets_provider
    if wait := prerequisites(cfg, every):
        spec["prerequisites"] = wait
    stack = {"apiVersion": "pulumi.com/v1", "kind": "Stack", "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}
    return [service_account, binding, stack]


def _origin() -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        url = subprocess.run(
            [git, "remote", "get-url", "origin"], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return url if re.match(r"(https://|ssh://|git@)", url) else None


def _options(args: argparse.Namespace) -> tuple[Source, State, str]:
    if not _NAME.fullmatch(args.namespace):
        raise OptionError(f"--namespace: {args.namespace!r} is not a Kubernetes namespace name (allowed: a DNS label, e.g. pulumi-stacks)")
    if args.flux_source:
        match = _FLUX.fullmatch(args.flux_source)
        if not match or args.repo:
            raise OptionError(f"--flux-source: {args.flux_source!r} (allowed: GitRepository/<name>, OCIRepository/<name> or Bucket/<name>, without --repo)")
        source = Source(flux=(match[1], match[2]))
    else:
        repo = args.repo or _origin() or PLACEHOLDER_REPO
        if not re.fullmatch(r"(https://|ssh://|git@)[^\s]+", repo):
            raise OptionError(f"--repo: {repo!r} is not a git URL the operator can fetch (allowed: https://..., ssh://..., git@host:path)")
        if not re.fullmatch(r"[A-Za-z0-9._/-]{1,255}", args.branch):
            raise OptionError(f"--branch: {args.branch!r} is not a branch name (allowed: letters, digits, '.', '_', '/', '-')")
        source = Source(repo=repo, branch=args.branch)
    if args.state and not args.state.startswith(STATE_SCHEMES):
        raise OptionError(f"--state: {args.state!r} (allowed: a self-managed backend URL, {', '.join(STATE_SCHEMES)}...)")
    if args.secrets_provider and not args.secrets_provider.startswith(SECRETS_SCHEMES):
        raise OptionError(f"--secrets-provider: {args.secrets_provider!r} (allowed: a KMS-backed provider, {', '.join(SECRETS_SCHEMES)}...)")
    if args.state and not args.secrets_provider:
        raise OptionError("--secrets-provider: missing; a self-managed --state needs one (awskms://, gcpkms://, ...): a passphrase would be a static credential")
    return source, State(args.state, args.secrets_provider), args.namespace


def write(out: Path, every: Sequence[StackConfig], source: Source, state: State, namespace: str) -> list[str]:
    rendered = {cfg.environment: manifests(cfg, every, source, state, namespace) for cfg in every}
    out.mkdir(parents=True, exist_ok=True)
    files = ["namespace.yaml"]
    namespace_doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {"app.kubernetes.io/part-of": PROJECT}}}
    (out / "namespace.yaml").write_text(yaml.safe_dump(namespace_doc, sort_keys=False))
    for environment, docs in rendered.items():
        files.append(f"stack-{environment}.yaml")
        (out / files[-1]).write_text(yaml.safe_dump_all(docs, sort_keys=False))
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": files}
    (out / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.operator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write the manifests to")
    parser.add_argument("--repo", help="git URL of this project (default: the origin remote)")
    parser.add_argument("--branch", default="main", help="branch the operator follows (default: main)")
    parser.add_argument("--flux-source", help="a Flux source instead of --repo: GitRepository/<name> (or OCIRepository, Bucket)")
    parser.add_argument("--state", help="self-managed state backend, e.g. s3://my-state-bucket (default: Pulumi Cloud)")
    parser.add_argument("--secrets-provider", help="KMS-backed secrets provider, e.g. awskms://alias/pulumi-state?region=us-east-1")
    parser.add_argument("--namespace", default=f"{PROJECT}-deploy", help=f"namespace of the Stacks and workspaces (default: {PROJECT}-deploy)")
    args = parser.parse_args(argv)
    try:
        source, state, namespace = _options(args)
        every = stacks()
        for cfg in every:
            check_separation(cfg, ROOT)
        files = write(args.out, every, source, state, namespace)
    except (OptionError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: --out: cannot write {args.out} ({err.strerror or type(err).__name__})", file=sys.stderr)
        return 2
    print(f"wrote {args.out}/: {', '.join(files)}, kustomization.yaml (kubectl apply -k {args.out})")
    if source.repo == PLACEHOLDER_REPO:
        print(f"note: origin is not a URL the operator can fetch; projectRepo is {PLACEHOLDER_REPO} (set REPO=<git URL>)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    cli.run(main)

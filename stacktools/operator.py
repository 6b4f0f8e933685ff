"""Manifests to run every stack on the Pulumi Kubernetes Operator v2, from the stack files.

    python -m stacktools.operator --out DIR [--repo URL --branch main | --flux-source Kind/name]
                                  [--state URL|stack=URL... --secrets-provider URL|stack=URL...]
                                  [--org ORG] [--namespace NS]

Per ``Pulumi.<stack>.yaml``, two ``pulumi.com/v1`` ``Stack`` objects that
share one workspace service account (the stack's deployer identity, from its
backend's ``workspace``: IRSA or Workload Identity, so no static cloud
credential exists; bound to ``system:auth-delegator`` only):

- the deploy Stack ``aragora-secrets-<stack>`` runs ``pulumi up`` only for a
  new commit of the tracked branch (no resync of an unchanged commit), polling
  the branch every ``BRANCH_POLL_SECONDS``; ``deployWave`` becomes
  ``prerequisites`` on the nearest earlier wave's deploy Stacks;
- the drift Stack ``aragora-secrets-<stack>-drift`` runs ``pulumi preview
  --refresh --expect-no-changes`` on the stack's ``driftCheck`` schedule: drift
  fails that Stack (the operator's ``stacks_failing`` metric) and changes
  nothing.

``alerts.yaml`` is a PrometheusRule on that metric. Every behaviour relied on
is cited at the operator's v2.9.0 source in docs/operator.md; the tests
validate every Stack against the whole v2.9.0 CRD (``tests/fixtures``).

Exit status: 0 written, 2 an invalid stack file, a stack without its deployer
identity, a name the CRD refuses, or a bad option (one line on stderr, nothing
written).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
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
# The operator's example workspace asks 1 CPU and 512Mi (its default is 64Mi,
# too small to install four provider SDKs). 1Gi: the AWS and Kubernetes
# provider plugins run side by side in a preview. requests == limits: the
# Guaranteed QoS class, so the kubelet never evicts a workspace mid-`up`
# (an interrupted update leaves pending operations in the state).
WORKSPACE_RESOURCES = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
# How often a deploy Stack asks git for a new commit of its branch (a `git
# ls-remote`, no workspace): a merged change reaches the operator within this.
BRANCH_POLL_SECONDS = 300
DRIFT_SECONDS = {DriftCheck.HOURLY: 3600, DriftCheck.DAILY: 86400}
# A later wave's deploy runs only if the earlier wave's deploy succeeded this
# recently, else the operator re-runs that one first (at the branch head:
# the commit the later wave is about to deploy). Deploy Stacks run only for a
# new commit, so this re-run happens at most once per new commit, never on a
# schedule; short, so the earlier wave has deployed the commit the later one takes.
PREREQUISITE_FRESHNESS = "10m"
# The CRD refuses a longer Stack name (size(self.metadata.name) <= 42).
MAX_STACK_NAME = 42
DRIFT_SUFFIX = "-drift"
KUBECONFIG_DIR = "/var/run/aragora-secrets/kube"
KUBE_CONTEXTS = f"{PROJECT}/kube-contexts"
"""Annotation of a stack with several clusters: the contexts its kubeconfig Secret must hold, home first."""
PLACEHOLDER_REPO = "https://git.example.com/platform/aragora-secrets.git"
ACCESS_TOKEN_SECRET = "pulumi-api-secret"
SELF_MANAGED_SCHEMES = ("s3://", "gs://", "azblob://")
STATE_SCHEMES = (*SELF_MANAGED_SCHEMES, "https://")
SECRETS_SCHEMES = ("awskms://", "gcpkms://", "azurekeyvault://", "hashivault://")
# The workflow whose pull requests preview every stack with the policy pack:
# a deploy Stack may follow only a branch those pull requests target.
PREVIEW_WORKFLOW = ".github/workflows/preview.yml"
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_ORG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_FLUX = re.compile(r"(GitRepository|OCIRepository|Bucket)/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)")
# git@host:path; an '@' after the host would be user info with a password (user:pw@host:path).
_SCP = re.compile(r"([^@/:\s]+@)?[^@/:\s]+:(?!//)[^@\s]+")
# Everything up to the last '@' of the authority (or of an scp-like URL): user info.
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)?[^/\s]*@")
_ASSIGN = re.compile(r"([a-z0-9][a-z0-9_.-]*)=(.+)")


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
    """Where one stack's state lives and how its secrets are encrypted."""

    backend: str | None
    """None: Pulumi Cloud (api.pulumi.com); else the backend URL (an https URL is a Pulumi Cloud API too)."""
    secrets_provider: str | None
    org: str | None = None
    """Pulumi Cloud organization: its stacks are <org>/<stack>."""

    @property
    def cloud(self) -> bool:
        return self.backend is None or self.backend.startswith("https://")


def names(environment: str) -> str:
    return f"{PROJECT}-{environment}"


def drift_name(environment: str) -> str:
    return f"{names(environment)}{DRIFT_SUFFIX}"


def redact(url: str) -> str:
    """The URL with any user info shown as ``***``: an error or note never repeats a credential."""
    return _USERINFO.sub(r"\1***@", url)


def strip_userinfo(url: str) -> tuple[str, str | None]:
    """A git URL without the credentials it carries, and a note saying what was removed.

    Over https any user info is a credential (a token is often the user name);
    over ssh the user name is a login and only a password is removed.
    """
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    if parts.scheme == "ssh":
        user, colon, _password = userinfo.partition(":")
        if not colon:
            return url, None
        kept = urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{host}"))
        return kept, "removed the password from --repo's user info"
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), "removed the credentials (user info) from --repo"


def prerequisites(cfg: StackConfig, every: Sequence[StackConfig]) -> list[dict[str, Any]]:
    """The deploy Stacks of the nearest earlier wave: wave 3 waits for wave 2, which waited for wave 1."""
    earlier = [c.common.deploy_wave for c in every if c.common.deploy_wave < cfg.common.deploy_wave]
    if not earlier:
        return []
    wave = max(earlier)
    return [
        {"name": names(c.environment), "requirement": {"succeededWithinDuration": PREREQUISITE_FRESHNESS}}
        for c in every
        if c.common.deploy_wave == wave
    ]


def drift_seconds(cfg: StackConfig) -> int:
    try:
        return DRIFT_SECONDS[cfg.common.drift_check]
    except KeyError:  # a schedule added to the config without one here
        raise ConfigError(f"{PROJECT}:driftCheck: {cfg.common.drift_check} has no operator schedule (allowed: {', '.join(DRIFT_SECONDS)})") from None


def check_names(cfg: StackConfig) -> None:
    """Both Stack names within the CRD's limit, refused naming the stack file."""
    longest = drift_name(cfg.environment)
    if len(longest) > MAX_STACK_NAME:
        raise ConfigError(
            f"{stack_file(cfg.environment).name}: stack name {cfg.environment!r} makes the Stack name {longest!r} "
            f"({len(longest)} characters); the operator's CRD allows {MAX_STACK_NAME} "
            f"(allowed: a stack name of at most {MAX_STACK_NAME - len(drift_name(''))} characters)"
        )


def manifests(cfg: StackConfig, every: Sequence[StackConfig], source: Source, state: State, namespace: str) -> list[dict]:
    """The workspace's service account, its one binding, the deploy Stack and the drift Stack."""
    check_names(cfg)
    # The one use of the backend's operator workspace (identity, annotations, environment);
    # a backend without one is "workspace is not available for <backend>", one line.
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
    common = _common_spec(cfg, name, workspace.env, source, state)
    deploy = {
        **common,
        "refresh": False,  # as CI's `pulumi up`: the change the branch reviewed, nothing read back first
        "continueResyncOnCommitMatch": False,
        "resyncFrequencySeconds": BRANCH_POLL_SECONDS,
    }
    if wait := prerequisites(cfg, every):
        deploy["prerequisites"] = wait
    drift = {
        **common,
        "preview": True,
        "refresh": True,
        "continueResyncOnCommitMatch": True,
        "resyncFrequencySeconds": drift_seconds(cfg),
        "updateTemplate": {"spec": {"expectNoChanges": True}},
        # Checked only against a stack whose last deploy succeeded, and again right after each deploy.
        "prerequisites": [{"name": name}],
    }
    # A stack with several clusters (``clusters``) applies into each through its own context, all read
    # from the one kubeconfig Secret: the Stack names them, for whoever writes that Secret.
    contexts = kube_contexts(cfg)
    annotations = {KUBE_CONTEXTS: ",".join(contexts)} if len(contexts) > 1 else {}
    return [
        service_account,
        binding,
        _stack(name, namespace, {**labels, f"{PROJECT}/role": "deploy"}, deploy, annotations),
        _stack(drift_name(cfg.environment), namespace, {**labels, f"{PROJECT}/role": "drift"}, drift, annotations),
    ]


def kube_contexts(cfg: StackConfig) -> list[str]:
    """The contexts a stack's workspace needs in its kubeconfig: each cluster's, home first."""
    return [c.common.kube_context for c in cfg.clusters] or [cfg.common.kube_context]


def _stack(name: str, namespace: str, labels: dict[str, str], spec: dict[str, Any], annotations: Mapping[str, str] | None = None) -> dict:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": "pulumi.com/v1", "kind": "Stack", "metadata": metadata, "spec": spec}


def _common_spec(cfg: StackConfig, name: str, workspace_env: Mapping[str, str], source: Source, state: State) -> dict[str, Any]:
    env = [{"name": k, "value": v} for k, v in sorted(workspace_env.items())]
    # The program reads KUBECONFIG when kubeconfig is unset; the file's context is the stack's kubeContext
    # (one context per cluster for a stack with clusters).
    env.append({"name": "KUBECONFIG", "value": f"{KUBECONFIG_DIR}/config"})
    spec: dict[str, Any] = {
        "stack": f"{state.org}/{cfg.environment}" if state.cloud else cfg.environment,
        "serviceAccountName": name,
        "destroyOnFinalize": False,
        "workspaceReclaimPolicy": "Delete",
        "workspaceTemplate": {
            "spec": {
                "image": WORKSPACE_IMAGE,
                "securityProfile": "restricted",
                "resources": {k: dict(v) for k, v in WORKSPACE_RESOURCES.items()},
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
    if state.cloud:
        # Pulumi Cloud (or a self-hosted one, any https backend): its access token, from a Secret you create.
        spec["envRefs"] = {"PULUMI_ACCESS_TOKEN": {"type": "Secret", "secret": {"name": ACCESS_TOKEN_SECRET, "key": "accessToken"}}}
    if state.secrets_provider:
        spec["secretsProvider"] = state.secrets_provider
    return spec


def alert_rule(every: Sequence[StackConfig], namespace: str) -> dict:
    """A PrometheusRule on the operator's ``stacks_failing{namespace, name}`` gauge.

    Scraped through a ServiceMonitor without honorLabels, the gauge's own
    ``namespace`` label arrives as ``exported_namespace`` (the target's
    namespace wins): the selectors accept either.
    """

    def failing(stack_names: Sequence[str]) -> str:
        pattern = "|".join(stack_names)  # DNS labels ([a-z0-9-]): nothing to escape
        return (
            f'(stacks_failing{{exported_namespace="{namespace}", name=~"{pattern}"}}'
            f' or stacks_failing{{namespace="{namespace}", name=~"{pattern}"}}) == 1'
        )

    rerun = f'kubectl -n {namespace} annotate --overwrite stack/{{{{ $labels.name }}}} pulumi.com/reconciliation-request="$(date +%s)"'
    rules: list[dict[str, Any]] = [
        {
            "alert": "AragoraSecretsDriftDetected",
            "expr": failing([drift_name(c.environment) for c in every]),
            "for": "15m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "{{ $labels.name }}: the stack differs from its code (pulumi preview --refresh --expect-no-changes failed); nothing was changed",
                "description": (
                    f"kubectl -n {namespace} get stack {{{{ $labels.name }}}} -o jsonpath='{{.status.lastUpdate}}' shows the preview's "
                    "permalink and commit. If lastAttemptedCommit is newer than the deploy Stack's lastSuccessfulCommit, the check "
                    "ran before the deploy: re-check. Else reconcile the drift (pulumi up --refresh after review, or undo the manual "
                    f"change), then re-check: {rerun}"
                ),
            },
        },
        {
            "alert": "AragoraSecretsDeployFailing",
            "expr": failing([names(c.environment) for c in every]),
            "for": "15m",
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "{{ $labels.name }}: the operator's pulumi up of the tracked branch failed",
                "description": (
                    f"kubectl -n {namespace} describe stack {{{{ $labels.name }}}}; after 3 failures the operator waits for a new "
                    f"commit or a re-run request: {rerun}"
                ),
            },
        },
    ]
    for cfg in every:
        silent = drift_seconds(cfg) // 3600 + 1
        name = drift_name(cfg.environment)
        rules.append({
            "alert": "AragoraSecretsDriftCheckSilent",
            # The gauge is set when the Stack's status changes: a drift check that ran reports 0 or 1.
            "expr": f'absent(stacks_failing{{name="{name}"}})',
            "for": f"{silent}h",
            "labels": {"severity": "warning", "name": name},
            "annotations": {
                "summary": f"{name}: no drift check reported for {silent}h (schedule: {cfg.common.drift_check})",
                "description": (
                    "The operator is down, is not scraped, or the Stack has not run since the operator restarted "
                    f"(kubectl -n {namespace} get stack {name}). Until it reports, drift goes unseen."
                ),
            },
        })
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": f"{PROJECT}-operator", "namespace": namespace, "labels": {"app.kubernetes.io/part-of": PROJECT}},
        "spec": {"groups": [{"name": f"{PROJECT}-operator", "rules": rules}]},
    }


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


def previewed_branches(root: Path = ROOT) -> list[str]:
    """The branches whose pull requests CI previews with the policy pack (``on.pull_request.branches``)."""
    path = root / PREVIEW_WORKFLOW
    try:
        workflow = yaml.safe_load(path.read_text())
        trigger = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
        branches = trigger["pull_request"]["branches"]
    except (OSError, yaml.YAMLError, AttributeError, KeyError, TypeError):
        raise OptionError(f"--branch: cannot read the pull request branches of {PREVIEW_WORKFLOW}; refusing to follow an unpreviewed branch") from None
    if not isinstance(branches, list) or not all(isinstance(b, str) for b in branches):
        raise OptionError(f"--branch: {PREVIEW_WORKFLOW} lists no pull request branches; refusing to follow an unpreviewed branch")
    return branches


def _repo(raw: str | None, notes: list[str]) -> str:
    repo = raw or _origin() or PLACEHOLDER_REPO
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in repo):
        raise OptionError("--repo: a control character in the URL (allowed: https://..., ssh://..., git@host:path)")
    if re.fullmatch(r"(https|ssh)://\S+", repo):
        try:
            parts = urllib.parse.urlsplit(repo)
            _ = parts.port  # a malformed port raises
            host = parts.hostname
        except ValueError:
            host = None
        if host and (parts.query or parts.fragment):
            raise OptionError(f"--repo: {redact(repo.partition('?')[0].partition('#')[0])!r}... has a query or fragment (allowed: a plain git URL; credentials go in gitAuth)")
        if host:
            repo, note = strip_userinfo(repo)
            if note:
                notes.append(f"note: {note}: give git credentials as the Stack's gitAuth (a Secret), never in the URL (docs/operator.md)")
            return repo
    elif _SCP.fullmatch(repo):
        return repo
    raise OptionError(f"--repo: {redact(repo)!r} is not a git URL the operator can fetch (allowed: https://..., ssh://..., git@host:path)")


def _per_stack(option: str, raw: Sequence[str], environments: Sequence[str]) -> dict[str, str | None]:
    """``URL`` for every stack, or ``<stack>=URL`` items (whitespace-separated: a URL holds none)."""
    items = [item for value in raw for item in value.split()]
    if raw and not items:
        raise OptionError(f"{option}: empty (allowed: one URL, or <stack>=URL for every stack)")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for item in items for c in item):
        raise OptionError(f"{option}: a control character in the value (allowed: URLs)")
    default: str | None = None
    chosen: dict[str, str] = {}
    for item in items:
        match = _ASSIGN.fullmatch(item)
        if match:
            stack, url = match[1], match[2]
            if stack not in environments:
                raise OptionError(f"{option}: no stack {stack!r} (allowed: {', '.join(environments)}, or one URL for every stack)")
            if stack in chosen:
                raise OptionError(f"{option}: stack {stack!r} given twice")
            chosen[stack] = url
        elif default is None:
            default = item
        else:
            raise OptionError(f"{option}: two URLs for every stack ({redact(default)!r}, {redact(item)!r}); give <stack>=URL for each")
    if chosen and default is None and (missing := [e for e in environments if e not in chosen]):
        raise OptionError(f"{option}: no value for stack {missing[0]!r} (give <stack>=URL for every stack, or one URL for all)")
    return {e: chosen.get(e, default) for e in environments}


def _url_without_credentials(option: str, url: str) -> None:
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        raise OptionError(f"{option}: {redact(url)!r} is not a URL") from None
    if "@" in parts.netloc:
        raise OptionError(
            f"{option}: {redact(url)!r} carries credentials in its user info; refused "
            "(the workspace authenticates as its identity, a Pulumi Cloud token comes from the Secret pulumi-api-secret)"
        )


def _state(args: argparse.Namespace, environments: Sequence[str]) -> dict[str, State]:
    backends = _per_stack("--state", args.state, environments)
    providers = _per_stack("--secrets-provider", args.secrets_provider, environments)
    found = {}
    for env in environments:
        backend, provider = backends[env], providers[env]
        if backend is not None:
            _url_without_credentials("--state", backend)
            if not backend.startswith(STATE_SCHEMES):
                raise OptionError(f"--state: {redact(backend)!r} (allowed: a self-managed backend URL, {', '.join(SELF_MANAGED_SCHEMES)}..., or a Pulumi Cloud https:// URL)")
        if provider is not None:
            _url_without_credentials("--secrets-provider", provider)
            if not provider.startswith(SECRETS_SCHEMES):
                raise OptionError(f"--secrets-provider: {redact(provider)!r} (allowed: a KMS-backed provider, {', '.join(SECRETS_SCHEMES)}...)")
        state = State(backend, provider, args.org)
        if not state.cloud and provider is None:
            raise OptionError(f"--secrets-provider: missing for stack {env!r}; a self-managed --state needs one (awskms://, gcpkms://, ...): a passphrase would be a static credential")
        if state.cloud and not args.org:
            raise OptionError(f"--org: missing; stack {env!r} is in Pulumi Cloud, where a stack is <org>/<stack> (allowed: your Pulumi organization)")
        found[env] = state
    if args.org and not _ORG.fullmatch(args.org):
        raise OptionError(f"--org: {args.org!r} is not a Pulumi organization name (allowed: letters, digits, '-', '_', '.')")
    return found


def _options(args: argparse.Namespace, environments: Sequence[str], notes: list[str]) -> tuple[Source, dict[str, State], str]:
    if not _NAME.fullmatch(args.namespace):
        raise OptionError(f"--namespace: {args.namespace!r} is not a Kubernetes namespace name (allowed: a DNS label, e.g. pulumi-stacks)")
    if args.flux_source:
        match = _FLUX.fullmatch(args.flux_source)
        if not match or args.repo:
            raise OptionError(f"--flux-source: {args.flux_source!r} (allowed: GitRepository/<name>, OCIRepository/<name> or Bucket/<name>, without --repo)")
        source = Source(flux=(match[1], match[2]))
        notes.append(f"note: --flux-source: the Stacks follow what {args.flux_source} tracks; point it at {', '.join(previewed_branches())} only (docs/operator.md)")
    else:
        repo = _repo(args.repo, notes)
        if not re.fullmatch(r"[A-Za-z0-9._/-]{1,255}", args.branch):
            raise OptionError(f"--branch: {args.branch!r} is not a branch name (allowed: letters, digits, '.', '_', '/', '-')")
        if args.branch not in (allowed := previewed_branches()):
            raise OptionError(
                f"--branch: {args.branch!r} is not a branch whose pull requests CI previews with the policy pack "
                f"(allowed: {', '.join(allowed)}, from {PREVIEW_WORKFLOW})"
            )
        source = Source(repo=repo, branch=args.branch)
        if repo == PLACEHOLDER_REPO:
            notes.append(f"note: origin is not a URL the operator can fetch; projectRepo is {PLACEHOLDER_REPO} (set REPO=<git URL>)")
    return source, _state(args, environments), args.namespace


def write(out: Path, every: Sequence[StackConfig], source: Source, states: Mapping[str, State], namespace: str) -> list[str]:
    rendered = {cfg.environment: manifests(cfg, every, source, states[cfg.environment], namespace) for cfg in every}
    rule = alert_rule(every, namespace)
    out.mkdir(parents=True, exist_ok=True)
    files = ["namespace.yaml"]
    namespace_doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {"app.kubernetes.io/part-of": PROJECT}}}
    (out / "namespace.yaml").write_text(yaml.safe_dump(namespace_doc, sort_keys=False))
    for environment, docs in rendered.items():
        files.append(f"stack-{environment}.yaml")
        (out / files[-1]).write_text(yaml.safe_dump_all(docs, sort_keys=False))
    files.append("alerts.yaml")
    (out / "alerts.yaml").write_text(yaml.safe_dump(rule, sort_keys=False))
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": files}
    (out / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.operator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write the manifests to")
    parser.add_argument("--repo", help="git URL of this project (default: the origin remote); no credentials")
    parser.add_argument("--branch", default="main", help="branch the deploy Stacks follow (default: main); one CI previews")
    parser.add_argument("--flux-source", help="a Flux source instead of --repo: GitRepository/<name> (or OCIRepository, Bucket)")
    parser.add_argument("--state", action="append", default=[], help="state backend: s3://, gs://, azblob:// or https:// (default: Pulumi Cloud); one URL, or <stack>=URL per stack")
    parser.add_argument("--secrets-provider", action="append", default=[], help="KMS-backed secrets provider, e.g. awskms://alias/x?region=us-east-1; one, or <stack>=URL per stack")
    parser.add_argument("--org", help="Pulumi Cloud organization (required with Pulumi Cloud state: stacks are <org>/<stack>)")
    parser.add_argument("--namespace", default=f"{PROJECT}-deploy", help=f"namespace of the Stacks and workspaces (default: {PROJECT}-deploy)")
    args = parser.parse_args(argv)
    notes: list[str] = []
    try:
        every = stacks()
        source, states, namespace = _options(args, [c.environment for c in every], notes)
        for cfg in every:
            check_names(cfg)
        for cfg in every:
            check_separation(cfg, ROOT)
            if len(kube_contexts(cfg)) > 1:
                notes.append(
                    f"note: {names(cfg.environment)}-kubeconfig must hold a context for every cluster of stack "
                    f"{cfg.environment}: {', '.join(kube_contexts(cfg))} (docs/operator.md)"
                )
        files = write(args.out, every, source, states, namespace)
    except (OptionError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: --out: cannot write {args.out} ({err.strerror or type(err).__name__})", file=sys.stderr)
        return 2
    print(f"wrote {args.out}/: {', '.join(files)}, kustomization.yaml (kubectl apply -k {args.out})")
    for note in notes:
        print(note, file=sys.stderr)
    return 0


if __name__ == "__main__":
    cli.run(main)

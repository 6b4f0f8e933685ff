"""Stack configuration: the only module that reads the Pulumi runtime's config.

Raw config strings are parsed into frozen, typed settings before any resource
is declared: ``CommonSettings`` for the keys every stack has, and the selected
backend's own model (``infra.backends.REGISTRY[...].settings``). Each key is defined once in
Python (its field: type, rule, message) and once in ``Pulumi.yaml`` (its
description and default); a test proves the two agree. Defaults live in
``Pulumi.yaml`` only: the CLI applies them before the program runs, and the
offline plan applies the same file the same way.

The environment is the stack name: any ``Pulumi.<name>.yaml`` is an environment.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pulumi
from pydantic import BeforeValidator, Field, model_validator

from components import eso_values
from components.service_account import ServiceAccount
from infra import backends, separation, stackfiles
from infra import clusters as multi
from infra.backends import BackendName
from infra.durations import MAX_REFRESH_SECONDS, MIN_REFRESH_SECONDS, REFRESH_BOUNDS
from infra.fields import (
    MAX_JSON_CHARS,
    PROJECT,
    BackendSettings,
    ConfigError,
    Flag,
    Settings,
    choice,
    duration,
    integer,
    quote,
    quote_key,
    reject,
    text,
    text_list,
)
from infra.separation import Claim

if TYPE_CHECKING:
    from infra.catalog import Catalog

# A Kubernetes label value that also fits every name the environment goes
# into: IAM role and KMS alias names, GCP service-account ids (6-30 characters,
# lower case) and secret ids, Vault policy names.
ENVIRONMENT = r"[a-z0-9](?:[a-z0-9-]{0,24}[a-z0-9])?"
ENVIRONMENT_RULE = "a stack name of lower-case letters, digits and '-', 1-26 characters, starting and ending alphanumeric"
LABEL_VALUE = r"[a-z0-9](?:[-a-z0-9.]{0,61}[a-z0-9])?"
REMOVED_KEYS = {
    "environment": "was removed: the stack name is the environment "
    "(allowed: delete it with `pulumi config rm environment`; see docs/extending.md, Adding an environment)",
    "bootstrap": "was removed: it dropped the store and every ExternalSecret (and so the app's Secrets) when set on a "
    "deployed stack (allowed: delete it with `pulumi config rm bootstrap`; a first deploy uses awaitSync: false)",
}


class ReloaderMode(StrEnum):
    """Automatic rollouts when a synced Secret changes."""

    OFF = "off"
    INSTALL = "install"
    """Install stakater Reloader into the app namespace."""
    EXTERNAL = "external"
    """A Reloader already runs in the cluster: only annotate the Secrets."""


def chart_values() -> Any:
    """A map of Helm chart values (the CLI passes a YAML map as JSON, its scalars typed); which paths are allowed is checked after."""
    allowed = "allowed: a YAML map, e.g. {nodeSelector: {pool: system}}"

    def check(value: Any) -> dict:
        if isinstance(value, str):
            if len(value) > MAX_JSON_CHARS:
                raise ValueError(f"is longer than {MAX_JSON_CHARS // 1024} KiB ({allowed})")
            try:
                value = json.loads(value) if value.strip() else {}
            except (ValueError, RecursionError):
                raise ValueError(f"is not a map of chart values ({allowed})") from None
        if not isinstance(value, dict):
            raise ValueError(f"is not a map of chart values ({allowed})")
        if _depth(value) > stackfiles.MAX_DEPTH:
            raise ValueError(f"is nested deeper than {stackfiles.MAX_DEPTH} levels ({allowed})")
        return value

    return Annotated[dict, BeforeValidator(check)]


def _depth(value: Any) -> int:
    """How deep maps and lists nest in ``value`` (iterative: a hostile value cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > stackfiles.MAX_DEPTH:
            break
        children = current.values() if isinstance(current, dict) else current if isinstance(current, list) else ()
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


class EsoInstall(StrEnum):
    """Who installs External Secrets Operator in the cluster."""

    MANAGED = "managed"
    """This stack: the hardened Helm release, its namespace and CRDs."""
    EXTERNAL = "external"
    """The platform (EKS add-on, Blueprints, Argo CD): the stack binds the identity to its service account."""


ESO_DEFAULT_SERVICE_ACCOUNT = "external-secrets/external-secrets"
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "default"})
"""Namespaces Kubernetes itself owns: their service accounts are the cluster's, never ESO's alone."""


class DriftCheck(StrEnum):
    """How often CI's drift workflow checks this stack (read by CI only: ``stacktools.matrix``)."""

    HOURLY = "hourly"
    DAILY = "daily"


class CommonSettings(Settings):
    """The keys every stack has, whatever its backend."""

    backend: choice(BackendName) = Field(alias="backend")
    kube_context: text(
        r"[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,252}", "a kubeconfig context name, the context of this environment's cluster"
    ) = Field(alias="kubeContext")
    # A path only: the provider also takes a kubeconfig's contents, whose token would then live in git.
    kubeconfig: text(
        r"[A-Za-z0-9_.~/@+=,%-]{1,4096}", "a path to a kubeconfig file (never its contents: no spaces, braces or colons)", optional=True
    ) = Field(alias="kubeconfig")
    refresh_interval: duration(
        MIN_REFRESH_SECONDS,
        MAX_REFRESH_SECONDS,
        REFRESH_BOUNDS,
        "every refresh is a paid provider call; under 1m throttles, over 24h leaves rotations unseen",
    ) = Field(alias="refreshInterval")
    jwt_rotation: text(LABEL_VALUE, "a label value: lower-case letters, digits, '-', '.', e.g. 2026-11-28") = Field(
        alias="jwtRotation"
    )
    await_sync: Flag = Field(alias="awaitSync")
    eso_chart_version: text(
        r"[2-9]\.[0-9]{1,3}\.[0-9]{1,3}|[1-9][0-9]\.[0-9]{1,3}\.[0-9]{1,3}",
        "an exact chart version X.Y.Z, 2.x or newer, no ranges (0.x serves only the dead v1beta1 API), e.g. 2.9.0",
    ) = Field(alias="esoChartVersion")
    eso_replicas: integer(1, 5) = Field(alias="esoReplicas")
    eso_install: choice(EsoInstall) = Field(alias="esoInstall")
    eso_values: chart_values() = Field(alias="esoValues")
    eso_service_account: text(
        r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?/[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?",
        "<namespace>/<name> of the installed ESO controller's service account, e.g. external-secrets/external-secrets",
    ) = Field(alias="esoServiceAccount")
    eso_monitoring_namespace: text(
        r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?", "a namespace name (DNS label), e.g. monitoring"
    ) = Field(alias="esoMonitoringNamespace")
    reloader: choice(ReloaderMode) = Field(alias="reloader")
    prometheus_operator: Flag = Field(alias="prometheusOperator")
    # Prometheus reserves names starting with __ and alertname; braces and $ would be template text to promtool.
    alert_labels: text_list(
        r"(?!__)(?!alertname=)(?!severity=)[a-zA-Z_][a-zA-Z0-9_]{0,62}=[A-Za-z0-9_.:/@+-]{1,128}",
        "label=value pairs for Alertmanager routing, e.g. [team=platform]: names not starting with __ and not alertname or severity, "
        "values of letters, digits and _.:/@+-",
    ) = Field(alias="alertLabels")
    alert_runbook_url: text(
        r"[A-Za-z0-9._~:/?#@!&'()*+,;=%-]{1,512}",
        "the runbook's URL, e.g. https://github.com/<org>/<repo>/blob/main/docs/operations.md (no braces or $: it becomes alert template text)",
    ) = Field(alias="alertRunbookUrl")
    grafana_dashboard: Flag = Field(alias="grafanaDashboard")
    drift_check: choice(DriftCheck) = Field(alias="driftCheck")
    deploy_wave: integer(1, 9, "CI deploys lower waves first") = Field(alias="deployWave")
    # Many clusters per environment: each entry is parsed by infra.clusters (this is only its shape).
    clusters: multi.cluster_map() = Field(alias="clusters")

    @model_validator(mode="after")
    def _eso_owner(self) -> CommonSettings:
        if self.eso_install is EsoInstall.MANAGED and self.eso_service_account != ESO_DEFAULT_SERVICE_ACCOUNT:
            reject(
                "esoServiceAccount",
                self.eso_service_account,
                f"is set with esoInstall managed (allowed: {ESO_DEFAULT_SERVICE_ACCOUNT}, the chart's own; or esoInstall external)",
            )
        return self

    @model_validator(mode="after")
    def _jwt_rotation_date(self) -> CommonSettings:
        # A marker written as a date must be one: 2026-02-30 is a typo that would read as a rotation.
        if re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?![0-9])", self.jwt_rotation, re.ASCII):
            try:
                date.fromisoformat(self.jwt_rotation[:10])
            except ValueError:
                reject("jwtRotation", self.jwt_rotation, "starts with a date that does not exist (allowed: a real date YYYY-MM-DD, or a marker that is not date-shaped)")
        return self

    @model_validator(mode="after")
    def _eso_account_is_esos_own(self) -> CommonSettings:
        # The account gets the environment's read role and this stack patches its annotations: a shared
        # account (every namespace's `default`, a system namespace's, the app's own namespace's) would
        # hand every pod that runs as it the environment's secrets.
        namespace, name = self.eso_service_account.split("/", 1)
        if name == "default":
            reject("esoServiceAccount", self.eso_service_account, "is a namespace's default service account, which every pod there runs as (allowed: the ESO controller's own account, e.g. external-secrets/external-secrets)")
        if namespace in SYSTEM_NAMESPACES or namespace.startswith("kube-"):
            reject("esoServiceAccount", self.eso_service_account, f"is in a namespace Kubernetes owns (allowed: an account in ESO's own namespace, not {', '.join(sorted(SYSTEM_NAMESPACES))} or kube-*)")
        return self

    @model_validator(mode="after")
    def _eso_values_allowed(self) -> CommonSettings:
        if self.eso_values and self.eso_install is EsoInstall.EXTERNAL:
            reject("esoValues", "...", "is set with esoInstall external (allowed: {}; the platform configures its own ESO)")
        for path, why in eso_values.problems(self.eso_values)[:1]:
            reject("esoValues", path, why)
        return self

    @property
    def eso_account(self) -> ServiceAccount:
        """The ESO controller's service account: the chart's, or the installed one's."""
        namespace, name = self.eso_service_account.split("/", 1)
        return ServiceAccount(namespace, name)


@dataclass(frozen=True)
class StackConfig:
    """One environment's validated config."""

    environment: str
    common: CommonSettings
    backend: BackendSettings
    """The selected backend's settings (``AwsSettings``, ``VaultSettings``, ...)."""
    clusters: tuple[multi.Cluster, ...] = ()
    """Every cluster of the environment, home first (``infra.clusters``); one when ``clusters`` is unset."""


def declared_keys() -> tuple[str, ...]:
    """Every config key the program knows: those ``Pulumi.yaml`` declares (the common ones and every backend's,
    written there by ``make docs`` from the backend packages; a test fails when it is stale). Read from the
    file, so no other backend's package is imported."""
    return tuple(stackfiles.declared_config())


def _check_environment(stack: str) -> None:
    if not re.fullmatch(ENVIRONMENT, stack, re.ASCII):
        raise ConfigError(f"stack {quote(stack)} is not an environment name (allowed: {ENVIRONMENT_RULE})")


def _check_keys(raw: Mapping[str, Any]) -> None:
    known = declared_keys()
    for key in raw:
        if key in REMOVED_KEYS:
            raise ConfigError(f"{PROJECT}:{key}: {REMOVED_KEYS[key]}")
        if key not in known:
            near = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            raise ConfigError(
                f"{PROJECT}:{quote_key(key)}: unknown key (allowed: the keys declared in Pulumi.yaml{hint})"
            )


def parse(raw: Mapping[str, Any], stack: str) -> StackConfig:
    """Turn raw ``{key: value}`` config (project namespace stripped, values as the CLI passes them) into settings."""
    _check_environment(stack)
    _check_keys(raw)
    # The first of several clusters may spell the top-level per-cluster keys (infra.clusters).
    raw, named = multi.lift_home(raw)
    try:
        common = CommonSettings.parse(dict(raw))
        _check_other_backends(raw, common.backend.value)
        backend = backends.load(common.backend.value).settings.parse(dict(raw))
        backend.check_kube_context(common.kube_context)
    except ConfigError as err:
        raise named(err) from None
    return StackConfig(environment=stack, common=common, backend=backend, clusters=multi.resolve(raw, common, backend))


def _check_other_backends(raw: Mapping[str, Any], selected: str) -> None:
    """Refuse a key of a backend this stack does not use, set to anything but its default: it would be ignored.

    A declared key that is neither common nor the selected backend's is another backend's: only then, to
    name it, are the other backends' packages imported."""
    defaults = {k.removeprefix(f"{PROJECT}:"): v for k, v in stackfiles.project_defaults().items()}
    own = {*CommonSettings.config_keys(), *backends.load(selected).settings.config_keys()}
    for key in raw:
        if key in own or stackfiles.encode_value(raw[key]) == defaults.get(key, ""):
            continue
        for name in backends.names():
            if name != selected and key in backends.load(name).settings.config_keys():
                reject(key, raw[key], f"is a key of backend {name}, and this stack's backend is {selected} (allowed: remove it, or set backend: {name})")


def check_against_catalog(cfg: StackConfig, secrets: Catalog) -> None:
    """What can only be judged with the catalog (its app namespace, its groups), before anything is declared."""
    # Every cluster's ESO account (the home cluster's is the top level's).
    for key, common in [("esoServiceAccount", cfg.common)] + [(c.key("esoServiceAccount"), c.common) for c in cfg.clusters if not c.home]:
        namespace = common.eso_account.namespace
        if namespace == secrets.app.namespace:
            reject(
                key,
                common.eso_service_account,
                f"is in the app's namespace {namespace}, whose pods receive the Secrets (allowed: an account in ESO's own namespace)",
            )
    cfg.backend.check_catalog(cfg.environment, secrets)


def project_keys(config: Mapping[str, Any]) -> dict[str, Any]:
    """``{key: value}`` of the ``aragora-secrets:`` keys of a namespaced config map."""
    prefix = f"{PROJECT}:"
    return {k.removeprefix(prefix): v for k, v in config.items() if k.startswith(prefix)}


def from_stack_file(stack: str, config_file: Path | None = None) -> StackConfig:
    """``stack``'s config as the CLI would pass it, parsed; no separation check. Raises ``ConfigError``."""
    return parse(project_keys(stackfiles.stack_config(stack, config_file)), stack)


def claims(cfg: StackConfig) -> list[Claim]:
    """What this stack must own alone among the project's stacks."""
    if cfg.clusters:
        return multi.claims(cfg.clusters)
    context = cfg.common.kube_context
    return [Claim("kubeContext", separation.context_claim(context), context, "a context of this environment's own cluster"), *cfg.backend.exclusive()]


def check_separation(cfg: StackConfig, directory: Path) -> None:
    """Refuse ``cfg`` when it shares a claim with another stack file of ``directory``.

    Fail closed: a neighbour that cannot be read or parsed might claim what
    this stack claims, so every stack refuses, naming that file and why,
    until it is fixed (a removed key left in production's file must not let
    staging render into production's context).
    """
    others = {}
    for stack in stackfiles.environments(directory):
        if stack == cfg.environment:
            continue
        path = stackfiles.stack_file(stack, directory)
        try:
            other = from_stack_file(stack, path)
        except ConfigError as err:
            reason = str(err).removeprefix(f"{PROJECT}:").strip()
            raise ConfigError(
                f"{PROJECT}: {path.name}, another stack of this project, cannot be checked for separation ({reason}); "
                "every stack refuses until it is fixed or removed"
            ) from None
        others[stack] = claims(other)
    separation.check(cfg.environment, claims(cfg), others)


PROJECT_DIRECTORY: ContextVar[Path | None] = ContextVar("project_directory", default=None)
"""Where the project's stack files are, when not the working directory (the offline plan sets it: the
directory of --config-file as spelt, symlinks not followed). Under the CLI: the working directory,
the project root that holds Pulumi.yaml."""


def load() -> StackConfig:
    """Read and validate this stack's config, and compare it with the project's other stacks.

    ``pulumi.Config`` can only look keys up, and unknown keys must be reported,
    so this reads the runtime's whole config map (set by the language host, or
    by the offline plan's mocks). The other stacks are the ``Pulumi.<stack>.yaml``
    files of the working directory, the project's root under the CLI.
    Raises ``ConfigError``.
    """
    merged = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    project = PROJECT_DIRECTORY.get() or Path.cwd()
    secret_keys = {*pulumi.runtime.config.get_config_secret_keys_env(), *pulumi.runtime.config._SECRET_KEYS.get()}  # noqa: SLF001
    stackfiles.check_namespaces(merged, secret_keys)
    cfg = parse(project_keys(merged), pulumi.get_stack())
    check_separation(cfg, project)
    return cfg

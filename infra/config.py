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
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pulumi
from pydantic import BeforeValidator, Field, model_validator

from components import eso_values
from components.service_account import ServiceAccount
from infra import clusters as multi
from infra import separation, stackfiles
from infra.backends import REGISTRY, BackendName
from infra.durations import MAX_REFRESH_SECONDS, MIN_REFRESH_SECONDS, REFRESH_BOUNDS
from infra.fields import (
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
    """A map of Helm chart values (the CLI passes a YAML map as JSON); which paths are allowed is checked after."""

    def check(value: Any) -> dict:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError:
                raise ValueError("is not a map of chart values (allowed: a YAML map, e.g. {nodeSelector: {pool: system}})") from None
        if not isinstance(value, dict):
            raise ValueError("is not a map of chart values (allowed: a YAML map, e.g. {nodeSelector: {pool: system}})")
        return value

    return Annotated[dict, BeforeValidator(check)]


class EsoInstall(StrEnum):
    """Who installs External Secrets Operator in the cluster."""

    MANAGED = "managed"
    """This stack: the hardened Helm release, its namespace and CRDs."""
    EXTERNAL = "external"
    """The platform (EKS add-on, Blueprints, Argo CD): the stack binds the identity to its service account."""


ESO_DEFAULT_SERVICE_ACCOUNT = "external-secrets/external-secrets"


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
    """Every config key the program knows: the common ones and every backend's."""
    return CommonSettings.config_keys() + tuple(k for backend in REGISTRY.values() for k in backend.settings.config_keys())


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
        backend = REGISTRY[common.backend.value].settings.parse(dict(raw))
        backend.check_kube_context(common.kube_context)
    except ConfigError as err:
        raise named(err) from None
    return StackConfig(environment=stack, common=common, backend=backend, clusters=multi.resolve(raw, common, backend))


def _check_other_backends(raw: Mapping[str, Any], selected: str) -> None:
    """Refuse a key of a backend this stack does not use, set to anything but its default: it would be ignored."""
    defaults = {k.removeprefix(f"{PROJECT}:"): v for k, v in stackfiles.project_defaults().items()}
    for name, backend in REGISTRY.items():
        if name == selected:
            continue
        for key in backend.settings.config_keys():
            if key in raw and stackfiles.encode_value(raw[key]) != defaults.get(key, ""):
                reject(key, raw[key], f"is a key of backend {name}, and this stack's backend is {selected} (allowed: remove it, or set backend: {name})")


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
    return [Claim("kubeContext", f"context/{context}", context, "a context of this environment's own cluster"), *cfg.backend.exclusive()]


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


def load() -> StackConfig:
    """Read and validate this stack's config, and compare it with the project's other stacks.

    ``pulumi.Config`` can only look keys up, and unknown keys must be reported,
    so this reads the runtime's whole config map (set by the language host, or
    by the offline plan's mocks). The other stacks are the ``Pulumi.<stack>.yaml``
    files of the working directory, the project's root under the CLI.
    Raises ``ConfigError``.
    """
    merged = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    secret_keys = {*pulumi.runtime.config.get_config_secret_keys_env(), *pulumi.runtime.config._SECRET_KEYS.get()}  # noqa: SLF001
    stackfiles.check_namespaces(merged, secret_keys)
    cfg = parse(project_keys(merged), pulumi.get_stack())
    check_separation(cfg, Path.cwd())
    return cfg

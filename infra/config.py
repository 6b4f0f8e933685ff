"""Stack configuration: the only module that reads ``pulumi.Config``.

Raw config strings are parsed into frozen, typed settings objects before any
resource is declared. Every rejection is one line that names the key, the bad
value and what is allowed (``ConfigError``); the Pulumi language host prints a
``RunError`` without a traceback, and the offline plan exits with status 2.

Defaults live in ``Pulumi.yaml`` (project-level ``config:``) and nowhere else:
the Pulumi CLI applies them before the program runs, and the offline plan
applies the same file the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Mapping

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PROJECT = "aragora-secrets"
ENVIRONMENTS = ("staging", "production")


class ConfigError(pulumi.RunError):
    """A stack config value is invalid. Reported as one line, never a traceback."""


class Backend(StrEnum):
    AWS = "aws"
    VAULT = "vault"
    GCP = "gcp"


class AwsIdentity(StrEnum):
    IRSA = "irsa"
    POD_IDENTITY = "pod-identity"


# --- value rules -----------------------------------------------------------

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
# EKS issuers are oidc.eks.<region>.amazonaws.com/id/<32 upper-case hex>.
_OIDC_ARN_RE = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:iam::(?P<account>\d{12}):oidc-provider/"
    r"(?P<issuer>oidc\.eks\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/id/[A-Z0-9]{32})$"
)
_GO_DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h))+$")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_SEMVER_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_LABEL_RE = re.compile(r"^[a-z0-9](?:[-a-z0-9.]{0,61}[a-z0-9])?$")
_K8S_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,252}$")
_EKS_CLUSTER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")

MIN_REFRESH_SECONDS = 60
MAX_REFRESH_SECONDS = 24 * 3600


def go_duration_seconds(value: str) -> float:
    """Seconds in a Go ``time.Duration`` string, as ESO parses ``refreshInterval``."""
    if not _GO_DURATION_RE.match(value):
        raise ValueError(f"{value!r} is not a Go duration (allowed: e.g. 5m, 1h, 1h30m)")
    return sum(float(n) * _GO_UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", value))


# --- typed settings ----------------------------------------------------------


@dataclass(frozen=True)
class EsoSettings:
    chart_version: str
    replicas: int


@dataclass(frozen=True)
class AwsSettings:
    region: str
    account_id: str
    identity: AwsIdentity
    oidc_provider_arn: str
    cluster_name: str
    recovery_window_days: int

    @property
    def partition(self) -> str:
        return "aws-cn" if self.region.startswith("cn-") else "aws-us-gov" if "-gov-" in self.region else "aws"

    @property
    def oidc_issuer(self) -> str:
        """The issuer host/path as IAM condition keys use it: no ``https://``."""
        match = _OIDC_ARN_RE.match(self.oidc_provider_arn)
        return match["issuer"] if match else ""


@dataclass(frozen=True)
class StackConfig:
    environment: str
    backend: Backend
    kube_context: str
    kubeconfig: str
    refresh_interval: str
    jwt_rotation: str
    bootstrap: bool
    eso: EsoSettings
    aws: AwsSettings | None


# --- raw model: one field per config key -------------------------------------


def _reject(message: str) -> ValueError:
    return ValueError(message)


class _Raw(BaseModel):
    """Config keys exactly as in Pulumi.yaml; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, str_strip_whitespace=False)

    environment: str = Field(alias="environment")
    backend: Backend = Field(alias="backend")
    kube_context: str = Field(alias="kubeContext")
    kubeconfig: str = Field(alias="kubeconfig")
    refresh_interval: str = Field(alias="refreshInterval")
    jwt_rotation: str = Field(alias="jwtRotation")
    bootstrap: bool = Field(alias="bootstrap")
    eso_chart_version: str = Field(alias="esoChartVersion")
    eso_replicas: int = Field(alias="esoReplicas", ge=1, le=5)
    aws_region: str = Field(alias="awsRegion")
    aws_account_id: str = Field(alias="awsAccountId")
    aws_identity: AwsIdentity = Field(alias="awsIdentity")
    aws_oidc_provider_arn: str = Field(alias="awsOidcProviderArn")
    aws_eks_cluster_name: str = Field(alias="awsEksClusterName")
    aws_recovery_window_days: int = Field(alias="awsRecoveryWindowDays", ge=7, le=30)

    @field_validator("environment")
    @classmethod
    def _environment(cls, v: str) -> str:
        if v not in ENVIRONMENTS:
            raise _reject(f"{v!r} is not an environment (allowed: {', '.join(ENVIRONMENTS)})")
        return v

    @field_validator("kube_context")
    @classmethod
    def _kube_context(cls, v: str) -> str:
        if not _K8S_NAME_RE.match(v):
            raise _reject(f"{v!r} is not a kubeconfig context name (required: the context of this environment's cluster)")
        return v

    @field_validator("refresh_interval")
    @classmethod
    def _refresh(cls, v: str) -> str:
        seconds = go_duration_seconds(v)
        if not MIN_REFRESH_SECONDS <= seconds <= MAX_REFRESH_SECONDS:
            raise _reject(f"{v!r} is outside 1m..24h (every refresh is a paid provider call; under 1m throttles, over 24h leaves rotations unseen)")
        return v

    @field_validator("jwt_rotation")
    @classmethod
    def _jwt_rotation(cls, v: str) -> str:
        if not _LABEL_RE.match(v):
            raise _reject(f"{v!r} is not a label value (allowed: lower-case letters, digits, '-', '.', e.g. 2026-11-28)")
        return v

    @field_validator("eso_chart_version")
    @classmethod
    def _chart_version(cls, v: str) -> str:
        match = _SEMVER_RE.match(v)
        if not match:
            raise _reject(f"{v!r} is not an exact chart version (allowed: X.Y.Z, no ranges; e.g. 2.9.0)")
        if int(match[1]) < 2:
            raise _reject(f"{v!r} is too old (allowed: 2.x or newer; 0.x serves only the dead v1beta1 API)")
        return v

    @field_validator("aws_region")
    @classmethod
    def _region(cls, v: str) -> str:
        if v and not _REGION_RE.match(v):
            raise _reject(f"{v!r} is not an AWS region (allowed: e.g. us-east-1, eu-west-2)")
        return v

    @field_validator("aws_account_id")
    @classmethod
    def _account(cls, v: str) -> str:
        if v and not _ACCOUNT_RE.match(v):
            raise _reject(f"{v!r} is not an AWS account id (allowed: 12 digits)")
        return v

    @field_validator("aws_oidc_provider_arn")
    @classmethod
    def _oidc_arn(cls, v: str) -> str:
        if v and not _OIDC_ARN_RE.match(v):
            raise _reject(
                f"{v!r} is not an EKS OIDC provider ARN "
                "(allowed: arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<32-character id>)"
            )
        return v

    @field_validator("aws_eks_cluster_name")
    @classmethod
    def _cluster(cls, v: str) -> str:
        if v and not _EKS_CLUSTER_RE.match(v):
            raise _reject(f"{v!r} is not an EKS cluster name (allowed: letters, digits, '-', '_', up to 100)")
        return v


def _need(key: str, value: Any, why: str) -> None:
    if value in ("", None):
        raise ConfigError(f"{PROJECT}:{key}: missing (required {why})")


def _cross_checks(raw: _Raw, stack: str) -> None:
    if raw.environment != stack:
        raise ConfigError(
            f"{PROJECT}:environment: {raw.environment!r} does not match the stack {stack!r} "
            "(allowed: the stack name; one stack per environment keeps staging and production apart)"
        )
    if raw.backend is Backend.AWS:
        _need("awsRegion", raw.aws_region, "when backend is aws")
        _need("awsAccountId", raw.aws_account_id, "when backend is aws")
        if raw.aws_identity is AwsIdentity.IRSA:
            _need("awsOidcProviderArn", raw.aws_oidc_provider_arn, "when awsIdentity is irsa")
            match = _OIDC_ARN_RE.match(raw.aws_oidc_provider_arn)
            assert match  # validated above
            if match["account"] != raw.aws_account_id:
                raise ConfigError(
                    f"{PROJECT}:awsOidcProviderArn: account {match['account']} differs from awsAccountId "
                    f"{raw.aws_account_id} (allowed: the OIDC provider of this environment's own account)"
                )
            if match["region"] != raw.aws_region:
                raise ConfigError(
                    f"{PROJECT}:awsOidcProviderArn: cluster region {match['region']} differs from awsRegion "
                    f"{raw.aws_region} (allowed: the OIDC provider of the cluster in awsRegion)"
                )
        else:
            _need("awsEksClusterName", raw.aws_eks_cluster_name, "when awsIdentity is pod-identity")
    elif raw.backend in (Backend.VAULT, Backend.GCP):
        raise ConfigError(f"{PROJECT}:backend: {raw.backend.value!r} is not implemented yet (allowed: aws)")


# What to say for keys whose rule is a type or a bound rather than a validator.
_ALLOWED = {
    "esoReplicas": "an integer from 1 to 5",
    "awsRecoveryWindowDays": "an integer from 7 to 30 (Secrets Manager's limits)",
    "bootstrap": "a boolean, true or false",
}


def _format_validation_error(err: ValidationError, raw: Mapping[str, Any]) -> str:
    first = err.errors()[0]
    key = str(first["loc"][0]) if first["loc"] else "?"
    if first["type"] == "missing":
        return f"{PROJECT}:{key}: missing (required: declare it in Pulumi.yaml or set it with `pulumi config set {key} <value>`)"
    if first["type"] == "extra_forbidden":
        return f"{PROJECT}:{key}: unknown key (allowed: the keys declared in Pulumi.yaml; see the README's config table)"
    message = first["msg"].removeprefix("Value error, ")
    value = raw.get(key)
    if first["type"] == "enum":
        allowed = str(first["ctx"]["expected"]).replace("'", "")
        return f"{PROJECT}:{key}: {value!r} is not allowed (allowed: {allowed})"
    if message.startswith(repr(value)):
        return f"{PROJECT}:{key}: {message}"
    return f"{PROJECT}:{key}: {value!r} is not allowed (allowed: {_ALLOWED.get(key, message)})"


def parse(raw: Mapping[str, Any], stack: str) -> StackConfig:
    """Turn raw ``{key: value}`` config (values as the CLI passes them: strings) into settings."""
    try:
        model = _Raw.model_validate(dict(raw))
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, raw)) from None
    _cross_checks(model, stack)
    aws = None
    if model.backend is Backend.AWS:
        aws = AwsSettings(
            region=model.aws_region,
            account_id=model.aws_account_id,
            identity=model.aws_identity,
            oidc_provider_arn=model.aws_oidc_provider_arn,
            cluster_name=model.aws_eks_cluster_name,
            recovery_window_days=model.aws_recovery_window_days,
        )
    return StackConfig(
        environment=model.environment,
        backend=model.backend,
        kube_context=model.kube_context,
        kubeconfig=model.kubeconfig,
        refresh_interval=model.refresh_interval,
        jwt_rotation=model.jwt_rotation,
        bootstrap=model.bootstrap,
        eso=EsoSettings(chart_version=model.eso_chart_version, replicas=model.eso_replicas),
        aws=aws,
    )


def _project_config() -> dict[str, Any]:
    """Every ``aragora-secrets:*`` key the engine passed, including ones we do not know.

    ``pulumi.Config`` can only look keys up, and unknown keys must be reported,
    so read the runtime's config map (set by the language host or by mocks).
    """
    merged = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    prefix = f"{PROJECT}:"
    return {k.removeprefix(prefix): v for k, v in merged.items() if k.startswith(prefix)}


def load() -> StackConfig:
    """Read and validate this stack's config. Raises ``ConfigError``."""
    return parse(_project_config(), pulumi.get_stack())


def encode_value(value: Any) -> str:
    """A YAML config value as the Pulumi CLI hands it to the program: a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)

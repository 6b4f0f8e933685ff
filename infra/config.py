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
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

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


class VaultTokenReviewer(StrEnum):
    ESO = "eso"
    """Vault reviews ESO's JWT with that same JWT: ESO needs system:auth-delegator."""
    VAULT = "vault"
    """Vault has its own reviewer JWT (e.g. runs in-cluster): no extra binding."""


class VaultAuditType(StrEnum):
    NONE = "none"
    FILE = "file"
    SOCKET = "socket"


class GcpIdentity(StrEnum):
    GSA = "gsa"
    """A Google service account impersonated through Workload Identity."""
    DIRECT = "direct"
    """Direct Workload Identity Federation: the Kubernetes service account is the principal."""


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
_URL_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[^\s]*)?$")
_VAULT_PATH_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}(?:/[a-z0-9][a-z0-9_-]{0,62})*$")
_GCP_PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_GCP_PROJECT_NUMBER_RE = re.compile(r"^[1-9]\d{5,19}$")
_GCP_LOCATION_RE = re.compile(r"^[a-z]+-[a-z]+\d{1,2}(?:-[a-z])?$")
_GCP_ZONE_OR_REGION_RE = re.compile(r"^[a-z]+-[a-z]+\d{1,2}(?:-[a-z])?$")
_GCP_CLUSTER_RE = re.compile(r"^[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?$")
_GCP_KMS_KEY_RE = re.compile(
    r"^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/locations/(?P<location>[a-z0-9-]+)/keyRings/[A-Za-z0-9_-]{1,63}/cryptoKeys/[A-Za-z0-9_-]{1,63}$"
)

def quote(value: Any) -> str:
    """A value quoted for a one-line message: repr, newlines escaped, long ones cut."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"


def quote_key(key: Any) -> str:
    """A config key as messages show it: as is when printable and short, else quoted."""
    text = str(key)
    return text if text.isprintable() and len(text) <= 80 else quote(text)


MIN_REFRESH_SECONDS = 60
MAX_REFRESH_SECONDS = 24 * 3600


def go_duration_seconds(value: str) -> float:
    """Seconds in a Go ``time.Duration`` string, as ESO parses ``refreshInterval``."""
    if not _GO_DURATION_RE.match(value):
        raise ValueError(f"{quote(value)} is not a Go duration (allowed: e.g. 5m, 1h, 1h30m)")
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
class VaultSettings:
    address: str
    kv_mount: str
    auth_mount: str
    kubernetes_host: str
    kubernetes_ca_cert: str
    kubernetes_issuer: str
    token_reviewer: VaultTokenReviewer
    token_ttl_seconds: int
    audience: str
    kubernetes_api_audience: str
    audit_type: VaultAuditType
    audit_target: str
    ca_bundle: str


@dataclass(frozen=True)
class GcpSettings:
    project: str
    project_number: str
    identity: GcpIdentity
    replica_locations: tuple[str, ...]
    kms_key_name: str
    cluster_location: str
    cluster_name: str
    cluster_project: str
    audit_logs: bool


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
    aws: AwsSettings | None = None
    vault: VaultSettings | None = None
    gcp: GcpSettings | None = None


# --- raw model: one field per config key -------------------------------------


def _reject(message: str) -> ValueError:
    return ValueError(message)



# Fields whose whole rule is a format: (pattern, what the value must be).
# Empty means "not set" and is checked by the backend's required keys, except
# for the fields in _NON_EMPTY, which always need a value.
_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "kube_context": (_K8S_NAME_RE, "a kubeconfig context name (required: the context of this environment's cluster)"),
    "jwt_rotation": (_LABEL_RE, "a label value (allowed: lower-case letters, digits, '-', '.', e.g. 2026-11-28)"),
    "aws_region": (_REGION_RE, "an AWS region (allowed: e.g. us-east-1, eu-west-2)"),
    "aws_account_id": (_ACCOUNT_RE, "an AWS account id (allowed: 12 digits)"),
    "aws_oidc_provider_arn": (
        _OIDC_ARN_RE,
        "an EKS OIDC provider ARN "
        "(allowed: arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<32-character id>)",
    ),
    "aws_eks_cluster_name": (_EKS_CLUSTER_RE, "an EKS cluster name (allowed: letters, digits, '-', '_', up to 100)"),
    "vault_address": (_URL_RE, "a URL (allowed: https://host[:port], e.g. https://vault.example.com:8200)"),
    "vault_kubernetes_host": (_URL_RE, "a URL (allowed: https://host[:port], e.g. https://kubernetes.default.svc)"),
    "vault_kv_mount": (_VAULT_PATH_RE, "a Vault mount path (allowed: lower-case segments of a-z, 0-9, '-', '_', no leading or trailing '/')"),
    "vault_auth_mount": (_VAULT_PATH_RE, "a Vault mount path (allowed: lower-case segments of a-z, 0-9, '-', '_', no leading or trailing '/')"),
    "gcp_project": (_GCP_PROJECT_RE, "a GCP project id (allowed: 6-30 of a-z, 0-9, '-', starting with a letter)"),
    "gcp_cluster_project": (_GCP_PROJECT_RE, "a GCP project id (allowed: 6-30 of a-z, 0-9, '-', starting with a letter)"),
    "gcp_project_number": (_GCP_PROJECT_NUMBER_RE, "a GCP project number (allowed: digits only, e.g. 123456789012)"),
    "gcp_cluster_location": (_GCP_ZONE_OR_REGION_RE, "a GKE cluster location (allowed: a region or zone, e.g. us-east1 or us-east1-b)"),
    "gcp_cluster_name": (_GCP_CLUSTER_RE, "a GKE cluster name (allowed: up to 40 of a-z, 0-9, '-', starting with a letter)"),
    "gcp_kms_key_name": (_GCP_KMS_KEY_RE, "a Cloud KMS key name (allowed: projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>)"),
}
_NON_EMPTY = {"kube_context", "jwt_rotation", "vault_kv_mount", "vault_auth_mount"}


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
    vault_address: str = Field(alias="vaultAddress")
    vault_kv_mount: str = Field(alias="vaultKvMount")
    vault_auth_mount: str = Field(alias="vaultAuthMount")
    vault_kubernetes_host: str = Field(alias="vaultKubernetesHost")
    vault_kubernetes_ca_cert: str = Field(alias="vaultKubernetesCaCert")
    vault_kubernetes_issuer: str = Field(alias="vaultKubernetesIssuer")
    vault_token_reviewer: VaultTokenReviewer = Field(alias="vaultTokenReviewer")
    vault_token_ttl: str = Field(alias="vaultTokenTtl")
    vault_audience: str = Field(alias="vaultAudience")
    vault_kubernetes_api_audience: str = Field(alias="vaultKubernetesApiAudience")
    vault_audit_type: VaultAuditType = Field(alias="vaultAuditType")
    vault_audit_target: str = Field(alias="vaultAuditTarget")
    vault_ca_bundle: str = Field(alias="vaultCaBundle")
    gcp_project: str = Field(alias="gcpProject")
    gcp_project_number: str = Field(alias="gcpProjectNumber")
    gcp_identity: GcpIdentity = Field(alias="gcpIdentity")
    gcp_replica_locations: list[str] = Field(alias="gcpReplicaLocations")
    gcp_kms_key_name: str = Field(alias="gcpKmsKeyName")
    gcp_cluster_location: str = Field(alias="gcpClusterLocation")
    gcp_cluster_name: str = Field(alias="gcpClusterName")
    gcp_cluster_project: str = Field(alias="gcpClusterProject")
    gcp_audit_logs: bool = Field(alias="gcpAuditLogs")

    @field_validator(*_FORMATS)
    @classmethod
    def _format(cls, v: str, info: ValidationInfo) -> str:
        pattern, what = _FORMATS[info.field_name]
        if (v or info.field_name in _NON_EMPTY) and not pattern.match(v):
            raise _reject(f"{quote(v)} is not {what}")
        return v

    @field_validator("environment")
    @classmethod
    def _environment(cls, v: str) -> str:
        if v not in ENVIRONMENTS:
            raise _reject(f"{quote(v)} is not an environment (allowed: {', '.join(ENVIRONMENTS)})")
        return v

    @field_validator("refresh_interval")
    @classmethod
    def _refresh(cls, v: str) -> str:
        seconds = go_duration_seconds(v)
        if not MIN_REFRESH_SECONDS <= seconds <= MAX_REFRESH_SECONDS:
            raise _reject(f"{quote(v)} is outside 1m..24h (every refresh is a paid provider call; under 1m throttles, over 24h leaves rotations unseen)")
        return v

    @field_validator("eso_chart_version")
    @classmethod
    def _chart_version(cls, v: str) -> str:
        match = _SEMVER_RE.match(v)
        if not match:
            raise _reject(f"{quote(v)} is not an exact chart version (allowed: X.Y.Z, no ranges; e.g. 2.9.0)")
        if int(match[1]) < 2:
            raise _reject(f"{quote(v)} is too old (allowed: 2.x or newer; 0.x serves only the dead v1beta1 API)")
        return v

    @field_validator("vault_token_ttl")
    @classmethod
    def _vault_ttl(cls, v: str) -> str:
        seconds = go_duration_seconds(v)
        if not 300 <= seconds <= 24 * 3600:
            raise _reject(f"{quote(v)} is outside 5m..24h (ESO re-authenticates when its token expires)")
        return v

    @field_validator("vault_audience", "vault_kubernetes_api_audience")
    @classmethod
    def _audience(cls, v: str) -> str:
        if not v or any(c.isspace() for c in v) or "*" in v:
            raise _reject(f"{quote(v)} is not an audience (allowed: one token audience without spaces or '*', e.g. vault)")
        return v

    @field_validator("gcp_replica_locations", mode="before")
    @classmethod
    def _json_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return json.loads(v) if v.strip() else []
            except json.JSONDecodeError:
                raise _reject(f"{quote(v)} is not a list (allowed: a YAML list of GCP regions, e.g. [us-east1, us-central1])") from None
        return v

    @field_validator("gcp_replica_locations")
    @classmethod
    def _locations(cls, v: list[str]) -> list[str]:
        for location in v:
            if not _GCP_LOCATION_RE.match(location):
                raise _reject(f"{quote(location)} is not a GCP region (allowed: e.g. us-east1, europe-west4)")
        if len(set(v)) != len(v):
            raise _reject(f"{quote(v)} names a region twice (allowed: distinct regions)")
        return v


def _need(key: str, value: Any, why: str) -> None:
    if value in ("", None):
        raise ConfigError(f"{PROJECT}:{key}: missing (required {why})")


def _cross_checks(raw: _Raw, stack: str) -> None:
    if raw.environment != stack:
        raise ConfigError(
            f"{PROJECT}:environment: {quote(raw.environment)} does not match the stack {quote(stack)} "
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
    elif raw.backend is Backend.VAULT:
        _need("vaultAddress", raw.vault_address, "when backend is vault")
        _need("vaultKubernetesHost", raw.vault_kubernetes_host, "when backend is vault")
        if raw.vault_audit_type is not VaultAuditType.NONE:
            _need("vaultAuditTarget", raw.vault_audit_target, "when vaultAuditType is file or socket")
    elif raw.backend is Backend.GCP:
        _need("gcpProject", raw.gcp_project, "when backend is gcp")
        if raw.gcp_identity is GcpIdentity.DIRECT:
            _need("gcpProjectNumber", raw.gcp_project_number, "when gcpIdentity is direct")
        if raw.gcp_cluster_name and not raw.gcp_cluster_location:
            _need("gcpClusterLocation", raw.gcp_cluster_location, "when gcpClusterName is set")
        key = _GCP_KMS_KEY_RE.match(raw.gcp_kms_key_name)
        if key:
            locations = raw.gcp_replica_locations
            if not locations and key["location"] != "global":
                raise ConfigError(
                    f"{PROJECT}:gcpKmsKeyName: key in {key['location']!r} cannot encrypt automatically replicated "
                    "secrets (allowed: a key in 'global', or set gcpReplicaLocations to that one region)"
                )
            if locations and locations != [key["location"]]:
                raise ConfigError(
                    f"{PROJECT}:gcpKmsKeyName: key in {key['location']!r} does not match gcpReplicaLocations "
                    f"{locations} (allowed: exactly one replica region, the key's)"
                )


# What to say for keys whose rule is a type or a bound rather than a validator.
_ALLOWED = {
    "esoReplicas": "an integer from 1 to 5",
    "awsRecoveryWindowDays": "an integer from 7 to 30 (Secrets Manager's limits)",
    "bootstrap": "a boolean, true or false",
    "gcpAuditLogs": "a boolean, true or false",
}


def _format_validation_error(err: ValidationError, raw: Mapping[str, Any]) -> str:
    first = err.errors()[0]
    key = quote_key(first["loc"][0]) if first["loc"] else "?"
    if first["type"] == "missing":
        return f"{PROJECT}:{key}: missing (required: declare it in Pulumi.yaml or set it with `pulumi config set {key} <value>`)"
    if first["type"] == "extra_forbidden":
        return f"{PROJECT}:{key}: unknown key (allowed: the keys declared in Pulumi.yaml; see the README's config table)"
    message = first["msg"].removeprefix("Value error, ")
    value = raw.get(first["loc"][0]) if first["loc"] else None
    if first["type"] == "enum":
        allowed = str(first["ctx"]["expected"]).replace("'", "")
        return f"{PROJECT}:{key}: {quote(value)} is not allowed (allowed: {allowed})"
    if message.startswith(quote(value)):
        return f"{PROJECT}:{key}: {message}"
    return f"{PROJECT}:{key}: {quote(value)} is not allowed (allowed: {_ALLOWED.get(key, message)})"


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
    vault = None
    if model.backend is Backend.VAULT:
        vault = VaultSettings(
            address=model.vault_address,
            kv_mount=model.vault_kv_mount,
            auth_mount=model.vault_auth_mount,
            kubernetes_host=model.vault_kubernetes_host,
            kubernetes_ca_cert=model.vault_kubernetes_ca_cert,
            kubernetes_issuer=model.vault_kubernetes_issuer,
            token_reviewer=model.vault_token_reviewer,
            token_ttl_seconds=int(go_duration_seconds(model.vault_token_ttl)),
            audience=model.vault_audience,
            kubernetes_api_audience=model.vault_kubernetes_api_audience,
            audit_type=model.vault_audit_type,
            audit_target=model.vault_audit_target,
            ca_bundle=model.vault_ca_bundle,
        )
    gcp = None
    if model.backend is Backend.GCP:
        gcp = GcpSettings(
            project=model.gcp_project,
            project_number=model.gcp_project_number,
            identity=model.gcp_identity,
            replica_locations=tuple(model.gcp_replica_locations),
            kms_key_name=model.gcp_kms_key_name,
            cluster_location=model.gcp_cluster_location,
            cluster_name=model.gcp_cluster_name,
            cluster_project=model.gcp_cluster_project,
            audit_logs=model.gcp_audit_logs,
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
        vault=vault,
        gcp=gcp,
    )


def _project_config() -> dict[str, Any]:
    """Every ``aragora-secrets:*`` key the engine passed, including ones we do not know.

    ``pulumi.Config`` can only look keys up, and unknown keys must be reported,
    so read the runtime's config map (set by the language host or by mocks).
    """
    merged = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    return project_keys(merged)


def project_keys(config: Mapping[str, Any]) -> dict[str, Any]:
    """``{key: value}`` of the ``aragora-secrets:`` keys of a namespaced config map."""
    prefix = f"{PROJECT}:"
    return {k.removeprefix(prefix): v for k, v in config.items() if k.startswith(prefix)}


def load() -> StackConfig:
    """Read and validate this stack's config. Raises ``ConfigError``."""
    return parse(_project_config(), pulumi.get_stack())


def encode_value(value: Any) -> str:
    """A YAML config value as the Pulumi CLI hands it to the program: a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)

"""The Vault backend's config keys: one field per ``Pulumi.yaml`` key, rule and message beside it."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from infra.durations import go_duration_seconds
from infra.fields import BackendSettings, Flag, choice, duration, reject, text, text_list
from infra.separation import Claim


class VaultTokenReviewer(StrEnum):
    ESO = "eso"
    """Vault reviews ESO's JWT with that same JWT: ESO needs system:auth-delegator."""
    VAULT = "vault"
    """Vault has its own reviewer JWT (e.g. runs in-cluster): no extra binding."""


class VaultAuditType(StrEnum):
    NONE = "none"
    FILE = "file"
    SOCKET = "socket"


@dataclass(frozen=True)
class VaultAudit:
    """An audit device: ``file`` writes to a path, ``socket`` to ``host:port``."""

    type: VaultAuditType
    target: str


# TLS only: ESO's login token and every value cross this connection.
HTTPS_URL = r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[!-~]*)?"
MOUNT = r"[a-z0-9][a-z0-9_-]{0,62}(?:/[a-z0-9][a-z0-9_-]{0,62})*"
MOUNT_RULE = "a Vault mount path: lower-case segments of a-z, 0-9, '-', '_', no leading or trailing '/'"
AUDIENCE = r"[!-)+-~]{1,256}"
AUDIENCE_RULE = "one token audience, printable ASCII without spaces or '*', e.g. vault"
_AUDIT_TARGETS = {
    VaultAuditType.FILE: (r"/[A-Za-z0-9._/-]{1,255}", "an absolute file path, e.g. /vault/logs/aragora-audit.log"),
    VaultAuditType.SOCKET: (r"[A-Za-z0-9.-]{1,253}:[0-9]{1,5}", "host:port of the audit socket, e.g. audit.example.com:9090"),
}


class VaultSettings(BackendSettings):
    name: ClassVar[str] = "vault"
    store_name: ClassVar[str] = "vault"

    address: text(HTTPS_URL, "an https URL, e.g. https://vault.example.com:8200", optional=True) = Field(alias="vaultAddress")
    kv_mount: text(MOUNT, MOUNT_RULE) = Field(alias="vaultKvMount")
    auth_mount: text(MOUNT, MOUNT_RULE) = Field(alias="vaultAuthMount")
    kubernetes_host: text(
        HTTPS_URL, "an https URL of the API server, e.g. https://kubernetes.default.svc", optional=True
    ) = Field(alias="vaultKubernetesHost")
    kubernetes_ca_cert: text(
        r"-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?",
        "a PEM certificate (-----BEGIN CERTIFICATE----- ...)",
        optional=True,
    ) = Field(alias="vaultKubernetesCaCert")
    kubernetes_issuer: text(r"[!-~]{1,512}", "a token issuer, e.g. https://kubernetes.default.svc.cluster.local", optional=True) = Field(
        alias="vaultKubernetesIssuer"
    )
    token_reviewer: choice(VaultTokenReviewer) = Field(alias="vaultTokenReviewer")
    token_ttl: duration(300, 24 * 3600, "5m..24h", "ESO logs in again when its token expires") = Field(alias="vaultTokenTtl")
    audience: text(AUDIENCE, AUDIENCE_RULE) = Field(alias="vaultAudience")
    kubernetes_api_audience: text(AUDIENCE, AUDIENCE_RULE) = Field(alias="vaultKubernetesApiAudience")
    audit_type: choice(VaultAuditType) = Field(alias="vaultAuditType")
    audit_target: text(r"[!-~]{1,260}", "a file path or host:port", optional=True) = Field(alias="vaultAuditTarget")
    ca_bundle: text(r"[A-Za-z0-9+/]+={0,2}", "a base64-encoded PEM bundle", optional=True) = Field(alias="vaultCaBundle")
    token_bound_cidrs: text_list(
        r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}/[0-9]{1,2}|[0-9a-f:]{2,39}/[0-9]{1,3}",
        "CIDR blocks ESO's Vault token may be used from, e.g. [10.0.0.0/16]",
    ) = Field(alias="vaultTokenBoundCidrs")
    adopt_kv_mount: Flag = Field(alias="vaultAdoptKvMount")
    """True: the KV mount exists and is someone else's; this stack declares no mount, only points at it."""

    @model_validator(mode="after")
    def _required_for_this_backend(self) -> VaultSettings:
        if self.address is None:
            reject("vaultAddress", "", "is missing (required when backend is vault)")
        if self.kubernetes_host is None:
            reject("vaultKubernetesHost", "", "is missing (required when backend is vault)")
        if self.token_reviewer is VaultTokenReviewer.ESO and self.kubernetes_ca_cert is None:
            # Vault outside the cluster has no pod CA to fall back on, and refuses the config without one.
            reject("vaultKubernetesCaCert", "", "is missing (required when vaultTokenReviewer is eso: the PEM CA of the API server Vault calls)")
        for cidr in self.token_bound_cidrs:
            try:
                ipaddress.ip_network(cidr)
            except ValueError:
                reject("vaultTokenBoundCidrs", cidr, "is not a network address with its prefix length (allowed: e.g. 10.0.0.0/16, no host bits set)")
        if self.audit_type is not VaultAuditType.NONE:
            pattern, allowed = _AUDIT_TARGETS[self.audit_type]
            target = self.audit_target or ""
            if not re.fullmatch(pattern, target, re.ASCII):
                reject("vaultAuditTarget", target, f"is not allowed (allowed with vaultAuditType {self.audit_type}: {allowed})")
        return self

    @property
    def port(self) -> int:
        return urlsplit(self.address or "").port or 443

    @property
    def server(self) -> str:
        """``host:port`` of ``vaultAddress``, as two stacks on one server would both spell it."""
        return f"{(urlsplit(self.address or '').hostname or '').lower()}:{self.port}"

    def exclusive(self) -> list[Claim]:
        # Each cluster needs its own Kubernetes auth method (its host, CA, reviewer).
        claims = [Claim("vaultAuthMount", f"vault-auth/{self.server}/{self.auth_mount}", self.auth_mount, "an auth mount of this environment's own on a shared server")]
        if not self.adopt_kv_mount:
            # An owned mount is declared (and protected) by one stack only.
            claims.append(Claim("vaultKvMount", f"vault-kv/{self.server}/{self.kv_mount}", self.kv_mount, "a KV mount of this environment's own on a shared server, or vaultAdoptKvMount: true"))
        return claims

    @property
    def token_ttl_seconds(self) -> int:
        return int(go_duration_seconds(self.token_ttl) or 0)

    @property
    def audit(self) -> VaultAudit | None:
        if self.audit_type is VaultAuditType.NONE:
            return None
        assert self.audit_target
        return VaultAudit(self.audit_type, self.audit_target)

"""The Vault backend's config keys: one field per ``Pulumi.yaml`` key, rule and message beside it."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
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


RESERVED_MOUNTS = frozenset({"sys", "auth", "cubbyhole", "identity", "audit"})
"""Paths Vault routes itself: a secrets engine cannot be mounted there."""
KNOWN_API_AUDIENCES = frozenset(
    {"https://kubernetes.default.svc", "https://kubernetes.default.svc.cluster.local", "kubernetes", "https://kubernetes.default"}
)
"""Audiences API servers accept by default (kube-apiserver's --api-audiences is usually its issuer)."""
AUDIT_FORBIDDEN_DIRS = ("/dev/", "/proc/", "/sys/", "/vault/data/", "/vault/file/", "/openbao/data/", "/openbao/file/", "/opt/vault/data/", "/var/lib/vault/")
"""Device files (/dev/null discards the trail) and the usual Vault/OpenBao storage directories."""


def canonical_server(key: str, url: str | None) -> str:
    """``https://<host>:<port>`` of an https URL: lower-case host without a trailing dot, the port explicit.

    ``https://Vault.Example.COM.:443/`` and ``https://vault.example.com`` are one server. A port
    out of 1..65535 or a missing host is refused naming ``key``.
    """
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:
        reject(key, url, "has a port out of range (allowed: 1..65535)")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host or ".." in host:
        reject(key, url, "has no host name (allowed: https://<host>[:<port>])")
    if port is not None and not 1 <= port <= 65535:
        reject(key, url, "has a port out of range (allowed: 1..65535)")
    return f"https://{host}:{port or 443}"


def _base64_pem(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return ""  # certificates_only says why


def certificates_only(pem: str) -> str | None:
    """Why ``pem`` is not a bundle of X.509 certificates and nothing else (None: it is)."""
    if "PRIVATE KEY" in pem:
        return "holds a private key (allowed: CA certificates only; a key in config would be copied into the cluster)"
    blocks = re.findall(r"-----BEGIN ([A-Z0-9 ]+)-----", pem)
    if not blocks or set(blocks) != {"CERTIFICATE"}:
        return "is not a PEM bundle of certificates (allowed: -----BEGIN CERTIFICATE----- blocks only)"
    try:
        x509.load_pem_x509_certificates(pem.encode("ascii"))
    except ValueError:
        return "does not parse as X.509 certificates (allowed: PEM CA certificates)"
    return None


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
        for key, url in (("vaultAddress", self.address), ("vaultKubernetesHost", self.kubernetes_host)):
            canonical_server(key, url)
        if self.kv_mount.split("/", 1)[0] in RESERVED_MOUNTS:
            reject("vaultKvMount", self.kv_mount, f"is a path Vault reserves (allowed: any mount path but {', '.join(sorted(RESERVED_MOUNTS))} and below)")
        api_audiences = {self.kubernetes_api_audience, *KNOWN_API_AUDIENCES, canonical_server("vaultKubernetesHost", self.kubernetes_host)}
        if self.audience in api_audiences or self.audience.rstrip("/") in api_audiences:
            # A token minted for Vault with an audience the API server honours can be replayed against the cluster.
            reject("vaultAudience", self.audience, "is an audience the Kubernetes API server accepts (allowed: one only Vault accepts, e.g. vault)")
        for key, pem in (("vaultKubernetesCaCert", self.kubernetes_ca_cert), ("vaultCaBundle", _base64_pem(self.ca_bundle))):
            if pem is not None:
                problem = certificates_only(pem)
                if problem:
                    reject(key, "..." if key == "vaultCaBundle" else pem[:40] + "...", problem)
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
            if self.audit_type is VaultAuditType.FILE:
                parts = target.split("/")
                if ".." in parts or "." in parts or target.endswith("/") or any(target.startswith(p) for p in AUDIT_FORBIDDEN_DIRS):
                    # An audit trail that goes nowhere (/dev/null) or into Vault's own storage is no trail.
                    reject(
                        "vaultAuditTarget",
                        target,
                        f"is not a log file Vault can keep (allowed: an absolute file path without '.' or '..' segments, outside {', '.join(AUDIT_FORBIDDEN_DIRS)})",
                    )
            if self.audit_type is VaultAuditType.SOCKET:
                port = int(target.rsplit(":", 1)[1])
                if not 1 <= port <= 65535:
                    reject("vaultAuditTarget", target, "has a port out of range (allowed: 1..65535)")
        return self

    @property
    def port(self) -> int:
        return int(self.server.rsplit(":", 1)[1])

    @property
    def server(self) -> str:
        """``vaultAddress`` as an authority, however it is spelt: ``https://<host>:<port>``."""
        return canonical_server("vaultAddress", self.address)

    @property
    def reviewed_cluster(self) -> str:
        """The API server this auth mount reviews tokens against, as an authority.

        A cluster-local name (``kubernetes.default.svc``, ``*.svc.cluster.local``) names the cluster
        Vault itself runs in, so it is that Vault server's cluster, not a global name."""
        api = canonical_server("vaultKubernetesHost", self.kubernetes_host)
        host = api.removeprefix("https://").rsplit(":", 1)[0]
        if host.startswith("kubernetes.default") or host.endswith((".svc", ".svc.cluster.local")):
            return f"in-cluster-of/{self.server}"
        return api

    def exclusive(self) -> list[Claim]:
        server = self.server
        claims = [
            # Each cluster needs its own Kubernetes auth method (its host, CA, reviewer).
            Claim("vaultAuthMount", f"vault-auth/{server}/{self.auth_mount}", self.auth_mount, "an auth mount of this environment's own on a shared server", path=True),
            # Two auth mounts (on one server or two) reviewing tokens against one API server let
            # that cluster's ESO log in as both environments, as one OIDC issuer would on AWS.
            Claim("vaultKubernetesHost", f"vault-reviewed-cluster/{self.reviewed_cluster}", self.kubernetes_host or "", "the API server of this environment's own cluster"),
        ]
        # An owned mount is declared (and protected) by one stack only; adopters may share a mount
        # nobody here owns, but never one another stack owns.
        claims.append(
            Claim(
                "vaultKvMount",
                f"vault-kv/{server}/{self.kv_mount}",
                self.kv_mount,
                "a KV mount of this environment's own on a shared server, or vaultAdoptKvMount: true on one no stack owns",
                shared=self.adopt_kv_mount,
                # Vault routes a path to the mount containing it: an adopted path inside another
                # environment's mount is that mount, and a mount inside another is refused.
                path=True,
            )
        )
        # One CA signs one cluster's API server certificate: two names for the API server (the
        # cluster-local one and the external one) with a CA in common are one cluster.
        for ca in self.kubernetes_ca_fingerprints:
            claims.append(Claim("vaultKubernetesCaCert", f"kubernetes-ca/{ca}", self.kubernetes_host or "", "the CA of this environment's own cluster"))
        return claims

    @property
    def kubernetes_ca_fingerprints(self) -> list[str]:
        """SHA-256 of each CA certificate's DER: the cluster's identity however the PEM is laid out."""
        if not self.kubernetes_ca_cert:
            return []
        certificates = x509.load_pem_x509_certificates(self.kubernetes_ca_cert.encode("ascii"))
        return sorted({hashlib.sha256(c.public_bytes(serialization.Encoding.DER)).hexdigest() for c in certificates})

    @property
    def token_ttl_seconds(self) -> int:
        return int(go_duration_seconds(self.token_ttl) or 0)

    @property
    def audit(self) -> VaultAudit | None:
        if self.audit_type is VaultAuditType.NONE:
            return None
        assert self.audit_target
        return VaultAudit(self.audit_type, self.audit_target)

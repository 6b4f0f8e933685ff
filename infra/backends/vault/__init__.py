"""Vault (or OpenBao) KV v2: one KV path per catalog group, ESO by the Kubernetes auth method.

``BACKEND`` is this backend's core (``infra.backends.base.Backend``): its
settings, its ``Pulumi.yaml`` keys and the facts of every type ``declare.py``
can declare. Its capabilities are the files beside it: ``access.py``,
``reader.py`` (with metadata stamping), ``workspace.py``, ``ci.py``,
``prices.json``.
"""

from __future__ import annotations

from typing import Any

from components.facts import K8S_IDENTITY, Facts
from infra.backends.base import Backend
from infra.backends.vault.settings import VaultSettings

KEYS: dict[str, dict[str, Any]] = {
    "vaultAddress": {
        "type": "string",
        "default": "",
        "description": "Vault/OpenBao API address, https only, used by Pulumi and by ESO's store (backend vault). The token comes from VAULT_TOKEN, never from config.",
    },
    "vaultKvMount": {
        "type": "string",
        "default": "secret",
        "description": "Path of the KV v2 mount holding aragora/<env>/*.",
    },
    "vaultAuthMount": {
        "type": "string",
        "default": "kubernetes",
        "description": "Path of the Kubernetes auth method for this environment's cluster.",
    },
    "vaultKubernetesHost": {
        "type": "string",
        "default": "",
        "description": "Kubernetes API URL (https) Vault calls for TokenReview (backend vault).",
    },
    "vaultKubernetesCaCert": {
        "type": "string",
        "default": "",
        "description": "PEM CA of that API server; required with vaultTokenReviewer eso (Vault outside the cluster), empty when Vault runs in the cluster.",
    },
    "vaultKubernetesIssuer": {
        "type": "string",
        "default": "",
        "description": "Service-account token issuer to validate; empty lets Vault use the cluster default.",
    },
    "vaultTokenReviewer": {
        "type": "string",
        "default": "eso",
        "description": "Whose JWT Vault uses for TokenReview - eso (ESO's own; adds a system:auth-delegator binding) or vault (Vault's own reviewer).",
    },
    "vaultTokenTtl": {
        "type": "string",
        "default": "1h",
        "description": "TTL of the Vault token ESO gets (Go duration, 5m..24h).",
    },
    "vaultAudience": {
        "type": "string",
        "default": "vault",
        "description": "Audience of ESO's service-account token; the role requires it.",
    },
    "vaultKubernetesApiAudience": {
        "type": "string",
        "default": "https://kubernetes.default.svc",
        "description": "With vaultTokenReviewer eso, Vault presents ESO's token to the TokenReview API, so the token also carries this API-server audience (EKS default shown; GKE uses its cluster URL).",
    },
    "vaultAuditType": {
        "type": "string",
        "default": "file",
        "description": "Audit device - file, socket or none. Enabling one needs sudo on sys/audit.",
    },
    "vaultAuditTarget": {
        "type": "string",
        "default": "/vault/logs/aragora-audit.log",
        "description": "File path (file) or host:port (socket) of the audit device.",
    },
    "vaultTokenBoundCidrs": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Network isolation - CIDR blocks (the cluster's egress addresses) from which ESO's Vault token may be used; empty allows any address.",
    },
    "vaultAdoptKvMount": {
        "type": "boolean",
        "default": False,
        "description": "true when the KV mount already exists and belongs to someone else (e.g. shared by several environments on one server) - the stack declares no mount, only points its policy and store at it.",
    },
    "vaultCaBundle": {
        "type": "string",
        "default": "",
        "description": "Base64 PEM bundle ESO uses to verify the Vault server's TLS certificate.",
    },
}

BACKEND = Backend(
    settings=VaultSettings,
    keys=KEYS,
    # terraform-provider-vault ForceNew attributes; a mount's path is remounted in place.
    resources={
        "pulumi:providers:vault": Facts(("address", "namespace")),
        "vault:index/mount:Mount": Facts(
            ("type", "local", "sealWrap", "externalEntropyAccess"),
            data_loss="unmounts the KV engine and destroys every value in it",
            unique_on=("path",),
        ),
        "vault:index/policy:Policy": Facts(("name",), grant=True, unique_on=("name",)),
        "vault:kv/secretBackendV2:SecretBackendV2": Facts(("mount",)),
        "vault:index/authBackend:AuthBackend": Facts(("type", "path", "local"), unique_on=("path",)),
        "vault:kubernetes/authBackendConfig:AuthBackendConfig": Facts(("backend",), grant=True),
        "vault:kubernetes/authBackendRole:AuthBackendRole": Facts(("backend", "roleName"), grant=True, unique_on=("backend", "roleName")),
        "vault:index/audit:Audit": Facts(("type", "path", "local", "options", "description"), unique_on=("path",)),  # no update at all
        # ESO's system:auth-delegator binding (components/vault): Vault's TokenReview needs it before the store validates.
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": Facts((*K8S_IDENTITY, "roleRef"), grant=True),
    },
)

"""Vault (or OpenBao) KV v2: one KV path per catalog group, ESO by the Kubernetes auth method.

``BACKEND`` is this backend's contract (``infra.backends.base.Backend``);
``settings`` its keys; ``declare`` its resources, through ``components/vault``.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from infra.backends.base import Backend, Workspace
from infra.backends.vault.settings import VaultSettings
from infra.catalog import Catalog


def _access_documents(stack: str, resources: list[dict[str, Any]]) -> dict[str, str]:
    return {f"{r['inputs']['name']}.hcl": r["inputs"]["policy"] for r in resources if r["type"] == "vault:index/policy:Policy"}


def _client(settings: VaultSettings):
    import hvac

    token = os.environ.get("VAULT_TOKEN")
    if not token:
        # Checked before any connection: without a token every call is refused anyway.
        raise PermissionError("VAULT_TOKEN is not set")
    return hvac.Client(url=os.environ.get("VAULT_ADDR") or settings.address, token=token, timeout=10)


def _metadata(client, settings: VaultSettings, path: str) -> dict | None:
    from hvac.exceptions import InvalidPath

    try:
        return client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=settings.kv_mount)["data"]
    except InvalidPath:
        return None


def _value_age(environment: str, settings: VaultSettings, secrets: Catalog):
    client = _client(settings)

    def changed(entry):
        path = secrets.app.grouped_path(environment, entry.group)
        where = f"{settings.kv_mount}/{path}"
        meta = _metadata(client, settings, path)
        if meta is None:
            return where, None
        version = meta["versions"].get(str(meta["current_version"]), {})
        created = version.get("created_time")
        return where, dt.datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None

    return changed


def _value_presence(environment: str, settings: VaultSettings, secrets: Catalog):
    from hvac.exceptions import InvalidPath

    client = _client(settings)
    cache: dict[str, set[str]] = {}

    def present(entry):
        path = secrets.app.grouped_path(environment, entry.group)
        if path not in cache:
            try:
                # Read to list the keys only; the values are dropped here, never kept or printed.
                data = client.secrets.kv.v2.read_secret_version(path=path, mount_point=settings.kv_mount, raise_on_deleted_version=True)
                cache[path] = set((data.get("data") or {}).get("data") or {})
            except InvalidPath:
                cache[path] = set()
        return f"{settings.kv_mount}/{path} / {entry.key}", entry.key in cache[path]

    return present


def _stamp_metadata(environment: str, settings: VaultSettings, secrets: Catalog) -> list[str]:
    """Each grouped path's rotation policy as KV v2 custom metadata (metadata only, never data).

    Not a Pulumi resource: the only one that carries custom metadata
    (``vault.kv.SecretV2``) owns the secret's data, which this project never touches.
    """
    from infra.backends.reading import DEFAULT_DEADLINE_SECONDS, Deadline
    from infra.backends.vault.reader import client as tool_client

    # The tools' client: VAULT_ADDR or the stack's address, the stack's CA bundle, timeouts and retries.
    with tool_client(settings, Deadline(DEFAULT_DEADLINE_SECONDS)) as client:
        return _stamp(client, environment, settings, secrets)


def _stamp(client, environment: str, settings: VaultSettings, secrets: Catalog) -> list[str]:
    stamped = []
    for group, entries in secrets.by_group.items():
        path = secrets.app.grouped_path(environment, group)
        modes = sorted({e.rotation.mode.value for e in entries})
        client.secrets.kv.v2.update_metadata(
            path=path,
            mount_point=settings.kv_mount,
            custom_metadata={
                f"{secrets.app.name}-max-age-days": str(secrets.max_age_days(group)),
                f"{secrets.app.name}-rotated-by": ",".join(modes),
                f"{secrets.app.name}-values": ",".join(e.env_var for e in entries),
            },
        )
        stamped.append(f"{settings.kv_mount}/{path}")
    return stamped


def _credentials(settings: VaultSettings) -> str:
    return f"a Vault token for {settings.address}: VAULT_TOKEN (and VAULT_ADDR to reach the server another way)"


def _workspace(settings: VaultSettings) -> Workspace:
    # The Vault provider reads VAULT_TOKEN or ~/.vault-token: a Vault Agent
    # sidecar keeps a short-lived token there, so no token is ever stored.
    return Workspace(
        identity_key="",
        identity=None,
        env={"VAULT_ADDR": settings.address or ""},
        note=(
            "a Vault Agent sidecar in the workspace (auto-auth with a Kubernetes auth role bound to the workspace's "
            "service account, sink ~/.vault-token) gives the provider a short-lived token"
        ),
    )


BACKEND = Backend(
    settings=VaultSettings,
    # terraform-provider-vault ForceNew attributes; a mount's path is remounted in place.
    replace_on={
        "pulumi:providers:vault": ("address", "namespace"),
        "vault:index/mount:Mount": ("type", "local", "sealWrap", "externalEntropyAccess"),
        "vault:index/policy:Policy": ("name",),
        "vault:kv/secretBackendV2:SecretBackendV2": ("mount",),
        "vault:index/authBackend:AuthBackend": ("type", "path", "local"),
        "vault:kubernetes/authBackendConfig:AuthBackendConfig": ("backend",),
        "vault:kubernetes/authBackendRole:AuthBackendRole": ("backend", "roleName"),
        "vault:index/audit:Audit": ("type", "path", "local", "options", "description"),  # no update at all
    },
    value_types={"vault:index/mount:Mount": "unmounts the KV engine and destroys every value in it"},
    grant_types=(
        "vault:index/policy:Policy",
        "vault:kubernetes/authBackendConfig:AuthBackendConfig",
        "vault:kubernetes/authBackendRole:AuthBackendRole",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    ),
    access_documents=_access_documents,
    value_age=_value_age,
    value_presence=_value_presence,
    credentials=_credentials,
    ci_inputs=("vault-addr", "vault-jwt-role"),
    stamp_metadata=_stamp_metadata,
    workspace=_workspace,
    unique_on={
        "vault:index/audit:Audit": ("path",),
        "vault:index/mount:Mount": ("path",),
        "vault:index/authBackend:AuthBackend": ("path",),
        "vault:index/policy:Policy": ("name",),
        "vault:kubernetes/authBackendRole:AuthBackendRole": ("backend", "roleName"),
    },
)

"""The Vault readers: KV v2 metadata of each grouped path (versions, custom metadata), never a kept value.

hvac is imported when a reader is built, never by the plan.
"""

from __future__ import annotations

import datetime as dt
import os

from infra.backends.vault.settings import VaultSettings
from infra.catalog import Catalog


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


def value_age(environment: str, settings: VaultSettings, secrets: Catalog):
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


def value_presence(environment: str, settings: VaultSettings, secrets: Catalog):
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


def stamp_metadata(environment: str, settings: VaultSettings, secrets: Catalog) -> list[str]:
    """Each grouped path's rotation policy as KV v2 custom metadata (metadata only, never data).

    Not a Pulumi resource: the only one that carries custom metadata
    (``vault.kv.SecretV2``) owns the secret's data, which this project never touches.
    """
    client = _client(settings)
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


def credentials(settings: VaultSettings) -> str:
    return f"a Vault token for {settings.address}: VAULT_TOKEN (and VAULT_ADDR to reach the server another way)"

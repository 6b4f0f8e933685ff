"""Vault's metadata stamping (``make rotation-report STAMP=1``): each grouped path's rotation policy as KV v2
custom metadata (metadata only, never data). hvac is imported when it runs."""

from __future__ import annotations

from infra.backends.vault.settings import VaultSettings
from infra.catalog import Catalog


def stamp_metadata(environment: str, settings: VaultSettings, secrets: Catalog) -> list[str]:
    """Each grouped path's rotation policy as KV v2 custom metadata.

    Not a Pulumi resource: the only one that carries custom metadata
    (``vault.kv.SecretV2``) owns the secret's data, which this project never touches.
    """
    from infra.backends.reading import DEFAULT_DEADLINE_SECONDS, Deadline
    from infra.backends.vault.reader import client as tool_client

    # The tools' client: VAULT_ADDR or the stack's address, the stack's CA bundle, timeouts and retries.
    with tool_client(settings, Deadline(DEFAULT_DEADLINE_SECONDS)) as client:
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

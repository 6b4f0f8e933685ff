"""The age report: when did each value last change in the backend, and is it overdue?

    python -m stacktools.rotation --stack <stack> [--config-file FILE] [--now 2027-01-04T00:00:00Z]

For every catalog value: its location, when its current version was written
(AWS: the AWSCURRENT version's creation date; Vault: the current KV v2
version's created_time; GCP: the newest enabled version's create_time), its
maximum age from the catalog's rotation policy, and OK, OVERDUE or MISSING (no
value yet). Values are never read, only their metadata. Credentials come from
the operator's environment, as for `pulumi up` (AWS_PROFILE or AWS_* and
AWS_ENDPOINT_URL, VAULT_ADDR/VAULT_TOKEN, Google application default
credentials). ``--now`` evaluates at another time ("what is overdue by the
next maintenance window?").

Exit status: 0 every value fresh, 1 something overdue or missing, 2 the
config is invalid or the backend cannot be read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra import catalog
from infra.config import StackConfig, from_stack_file
from infra.fields import ConfigError


@dataclass(frozen=True)
class Row:
    entry: catalog.SecretEntry
    location: str
    changed: dt.datetime | None

    def status(self, now: dt.datetime) -> str:
        if self.changed is None:
            return "MISSING"
        return "OVERDUE" if now - self.changed > dt.timedelta(days=self.entry.rotation.max_age_days) else "OK"


def _aws(cfg: StackConfig) -> Callable[[catalog.SecretEntry], tuple[str, dt.datetime | None]]:
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client("secretsmanager", region_name=cfg.backend.region)
    cache: dict[str, dt.datetime | None] = {}

    def changed(entry: catalog.SecretEntry) -> tuple[str, dt.datetime | None]:
        name = catalog.grouped_path(cfg.environment, entry.group)
        if name not in cache:
            try:
                versions = client.list_secret_version_ids(SecretId=name)["Versions"]
            except ClientError as err:
                if err.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                versions = []
            current = [v["CreatedDate"] for v in versions if "AWSCURRENT" in v.get("VersionStages", [])]
            cache[name] = current[0] if current else None
        return name, cache[name]

    return changed


def _vault(cfg: StackConfig) -> Callable[[catalog.SecretEntry], tuple[str, dt.datetime | None]]:
    import hvac
    from hvac.exceptions import InvalidPath

    client = hvac.Client(url=os.environ.get("VAULT_ADDR") or cfg.backend.address, token=os.environ.get("VAULT_TOKEN"), timeout=10)

    def changed(entry: catalog.SecretEntry) -> tuple[str, dt.datetime | None]:
        path = catalog.grouped_path(cfg.environment, entry.group)
        try:
            meta = client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=cfg.backend.kv_mount)["data"]
        except InvalidPath:
            return f"{cfg.backend.kv_mount}/{path}", None
        version = meta["versions"].get(str(meta["current_version"]), {})
        created = version.get("created_time")
        return f"{cfg.backend.kv_mount}/{path}", dt.datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None

    return changed


def _gcp(cfg: StackConfig) -> Callable[[catalog.SecretEntry], tuple[str, dt.datetime | None]]:
    try:
        from google.cloud import secretmanager
    except ImportError:
        raise ConfigError("the GCP age report needs google-cloud-secret-manager: pip install google-cloud-secret-manager") from None
    client = secretmanager.SecretManagerServiceClient()

    def changed(entry: catalog.SecretEntry) -> tuple[str, dt.datetime | None]:
        parent = f"projects/{cfg.backend.project}/secrets/{catalog.per_value_id(cfg.environment, entry)}"
        enabled = [v.create_time for v in client.list_secret_versions(request={"parent": parent}) if v.state.name == "ENABLED"]
        return parent, max(enabled) if enabled else None

    return changed


READERS = {"aws": _aws, "vault": _vault, "gcp": _gcp}


def stamp_vault_metadata(cfg: StackConfig, secrets: catalog.Catalog = catalog.CATALOG) -> list[str]:
    """Write each grouped path's rotation policy as KV v2 custom metadata (metadata only, never data).

    Not a Pulumi resource: the only one that carries custom metadata
    (``vault.kv.SecretV2``) owns the secret's data, which this project never
    touches. Returns the paths stamped.
    """
    import hvac

    client = hvac.Client(url=os.environ.get("VAULT_ADDR") or cfg.backend.address, token=os.environ.get("VAULT_TOKEN"), timeout=10)
    stamped = []
    for group, entries in secrets.by_group.items():
        path = catalog.grouped_path(cfg.environment, group)
        modes = sorted({e.rotation.mode.value for e in entries})
        client.secrets.kv.v2.update_metadata(
            path=path,
            mount_point=cfg.backend.kv_mount,
            custom_metadata={
                "aragora-max-age-days": str(secrets.max_age_days(group)),
                "aragora-rotated-by": ",".join(modes),
                "aragora-values": ",".join(e.env_var for e in entries),
            },
        )
        stamped.append(f"{cfg.backend.kv_mount}/{path}")
    return stamped


def report(cfg: StackConfig, secrets: catalog.Catalog = catalog.CATALOG) -> list[Row]:
    changed = READERS[cfg.backend.name](cfg)
    return [Row(entry, *changed(entry)) for entry in secrets]


def render_rows(rows: list[Row], now: dt.datetime) -> str:
    lines = [f"{'value':<24} {'location':<40} {'last changed':<20} {'max age':>8} {'age':>6}  status"]
    for r in rows:
        when = r.changed.strftime("%Y-%m-%d %H:%M") if r.changed else "-"
        age = f"{(now - r.changed).days}d" if r.changed else "-"
        lines.append(f"{r.entry.env_var:<24} {r.location:<40} {when:<20} {r.entry.rotation.max_age_days:>7}d {age:>6}  {r.status(now)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.rotation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--config-file", type=Path)
    parser.add_argument("--now", help="evaluate at this time (ISO 8601, UTC), default: now")
    parser.add_argument("--stamp-vault-metadata", action="store_true", help="first write each path's rotation policy as KV v2 custom metadata (Vault)")
    args = parser.parse_args(argv)
    now = dt.datetime.fromisoformat(args.now.replace("Z", "+00:00")) if args.now else dt.datetime.now(dt.UTC)
    try:
        cfg = from_stack_file(args.stack, args.config_file)
        if args.stamp_vault_metadata:
            if cfg.backend.name != "vault":
                raise ConfigError(f"--stamp-vault-metadata: stack {args.stack} uses backend {cfg.backend.name} (allowed: a vault stack)")
            for path in stamp_vault_metadata(cfg):
                print(f"stamped {path}")
        rows = report(cfg)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - a backend that cannot be read: one line, exit 2
        print(f"error: cannot read the {args.stack} backend: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    print(render_rows(rows, now))
    bad = [r for r in rows if r.status(now) != "OK"]
    print(f"\n{len(rows) - len(bad)} fresh, {sum(r.status(now) == 'OVERDUE' for r in rows)} overdue, {sum(r.status(now) == 'MISSING' for r in rows)} missing")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

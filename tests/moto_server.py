"""moto's server mode as the AWS API for tests (``tests.servers``: loopback, free port, stopped by PID)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import free_port, server


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True


@contextmanager
def moto_server(workdir: Path, account: str | None = None) -> Iterator[str]:
    """Yield the endpoint URL; the server never outlives the block. ``account``: the caller's account
    (STS GetCallerIdentity), as the tools check it against the stack's awsAccountId (moto's default: 123456789012)."""
    binary = Path(sys.executable).parent / "moto_server"
    if not binary.exists():
        raise RuntimeError(f"moto_server missing at {binary}: `make test` installs moto[server]")
    port = free_port()
    env = {**os.environ, **({"MOTO_ACCOUNT_ID": account} if account else {})}
    with server([str(binary), "-H", "127.0.0.1", "-p", str(port)], lambda: _listening(port), workdir, "moto", env):
        yield f"http://127.0.0.1:{port}"

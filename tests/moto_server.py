"""moto's server mode as the AWS API for tests (``tests.servers``: loopback, free port, stopped by PID)."""

from __future__ import annotations

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
def moto_server(workdir: Path) -> Iterator[str]:
    """Yield the endpoint URL; the server never outlives the block."""
    binary = Path(sys.executable).parent / "moto_server"
    if not binary.exists():
        raise RuntimeError(f"moto_server missing at {binary}: `make test` installs moto[server]")
    port = free_port()
    with server([str(binary), "-H", "127.0.0.1", "-p", str(port)], lambda: _listening(port), workdir, "moto"):
        yield f"http://127.0.0.1:{port}"

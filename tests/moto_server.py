"""moto's server mode as the AWS API for tests (``tests.servers``: loopback, free port, stopped by PID)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import free_port, server

# moto 5.2.5 answers ListSecretVersionIds with the time of the call as every version's CreatedDate
# (moto/secretsmanager/models.py:1024, ``int(time.time())``); Secrets Manager answers each version's
# own creation date, and the AWS reader dates a value by the versions it lists. So the server runs
# with that one answer corrected to the date moto itself recorded for the version (models.py:702).
# Without it, a test passed only when its listing fell in the same second as the last write.
_SERVER = """
import json, sys
from moto.secretsmanager.models import SecretsManagerBackend
from moto.server import main

listed = SecretsManagerBackend.list_secret_version_ids

def list_secret_version_ids(self, secret_id):
    answer = json.loads(listed(self, secret_id))
    versions = self.secrets[secret_id].versions
    for version in answer["Versions"]:
        version["CreatedDate"] = versions[version["VersionId"]]["createdate"]
    return json.dumps(answer)

SecretsManagerBackend.list_secret_version_ids = list_secret_version_ids
sys.exit(main())
"""


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
    with server([sys.executable, "-c", _SERVER, "-H", "127.0.0.1", "-p", str(port)], lambda: _listening(port), workdir, "moto", env):
        yield f"http://127.0.0.1:{port}"

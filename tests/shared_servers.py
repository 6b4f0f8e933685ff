"""One moto and one OpenBao server per test process, shared by the modules that read a backend.

Starting a server costs seconds of CPU; under xdist's work stealing a module's
tests can be spread over both workers and interleaved with other modules, so a
module-scoped server would start again and again. These session fixtures start
each server once per worker (lazily, only if a test asks); each module's own
fixture resets what it uses before seeding it (``reset_moto``, a fresh KV v2
mount), so no module sees another's data.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import hvac
import pytest
import requests

from tests.moto_server import moto_server
from tests.openbao import dev_server
from tests.support import PLANS, configured, plans_of


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory) -> Iterator[str]:
    """moto answering as the account of the AWS stack the tests read (the first AWS configuration)."""
    stack, config_file = PLANS[plans_of("aws")[0]]
    with moto_server(tmp_path_factory.mktemp("moto-shared"), configured(stack, "awsAccountId", config_file)) as url:
        yield url


def reset_moto(url: str, region: str):
    """Every resource of the shared moto server gone (moto's own reset API); returns a Secrets Manager
    client of ``region`` and the environment a tool reading the server runs with."""
    requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # moto accepts any
    env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": region}
    return boto3.client("secretsmanager", region_name=region, endpoint_url=url, **credentials), env


@pytest.fixture(scope="session")
def bao_server(tmp_path_factory) -> Iterator[tuple[hvac.Client, dict[str, str], object]]:
    """``(root client, VAULT_ADDR/VAULT_TOKEN env, workdir)`` of a shared OpenBao dev server."""
    workdir = tmp_path_factory.mktemp("bao-shared")
    with dev_server(workdir) as (address, token):
        yield hvac.Client(url=address, token=token, timeout=5), {"VAULT_ADDR": address, "VAULT_TOKEN": token}, workdir

"""`make rotation-report` against real servers on 127.0.0.1: moto's server mode (AWS) and OpenBao (Vault).

Values are written with the real clients; the report reads their metadata
through the same paths it uses against a real account or server. `--now`
moves the clock: 45 days on, the database value (30 days max) is overdue and
the API keys (90 days) are not; a day on, everything is fresh.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import hvac
import pytest

from infra import catalog
from tests.openbao import remount
from tests.shared_servers import reset_moto
from tests.support import PLANS, ROOT, plans_of, render

AWS_NAME = plans_of("aws")[0]
VAULT_NAME = plans_of("vault")[0]


def _report(name: str, env: dict, days_on: int) -> subprocess.CompletedProcess:
    stack, config_file = PLANS[name]
    now = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days_on)).strftime("%Y-%m-%dT%H:%M:%SZ")
    args = [sys.executable, "-m", "stacktools.rotation", "--stack", stack, "--now", now]
    args += ["--config-file", str(config_file)] if config_file else []
    return subprocess.run(args, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def _statuses(stdout: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[-1] for line in stdout.splitlines()[1:] if line and line.split()[0] in {e.env_var for e in catalog.CATALOG}}


UNSET_GROUP = list(catalog.CATALOG.by_group)[-1]
"""The one group the fixtures leave without a value."""
EXPECTED_45_DAYS = {e.env_var: "OVERDUE" if e.rotation.max_age_days < 45 else "OK" for e in catalog.CATALOG}


@pytest.fixture(scope="module")
def aws(moto_url):
    plan = render(*PLANS[AWS_NAME])
    client, env = reset_moto(moto_url, plan.setting("awsRegion"))
    for group, entries in catalog.CATALOG.by_group.items():
        name = catalog.CATALOG.app.grouped_path(plan.stack, group)
        client.create_secret(Name=name)
        if group != UNSET_GROUP:
            client.put_secret_value(SecretId=name, SecretString="{" + ", ".join(f'"{e.key}": "v"' for e in entries) + "}")
    return env


def test_aws_a_value_older_than_its_max_age_is_overdue_and_exit_1(aws):
    result = _report(AWS_NAME, aws, 45)
    assert result.returncode == 1, result.stderr
    statuses = _statuses(result.stdout)
    for e in catalog.CATALOG:
        expected = "MISSING" if e.group == UNSET_GROUP else EXPECTED_45_DAYS[e.env_var]
        assert statuses[e.env_var] == expected, (e.env_var, result.stdout)
    assert '"v"' not in result.stdout  # metadata only, never a value


def test_aws_fresh_values_pass_but_a_missing_one_still_fails(aws):
    result = _report(AWS_NAME, aws, 1)
    statuses = _statuses(result.stdout)
    assert {v for k, v in statuses.items() if k not in {e.env_var for e in catalog.CATALOG.by_group[UNSET_GROUP]}} == {"OK"}
    assert result.returncode == 1 and "missing" in result.stdout.splitlines()[-1]


@pytest.fixture(scope="module")
def vault(bao_server):
    plan = render(*PLANS[VAULT_NAME])
    mount = plan.setting("vaultKvMount")
    client, env, _ = bao_server
    remount(client, mount, "kv", {"version": "2"})  # fresh: no other module's values
    for group, entries in catalog.CATALOG.by_group.items():
        client.secrets.kv.v2.create_or_update_secret(path=catalog.CATALOG.app.grouped_path(plan.stack, group), secret={e.key: "v" for e in entries}, mount_point=mount)
    return env


def test_vault_a_value_older_than_its_max_age_is_overdue_and_exit_1(vault):
    result = _report(VAULT_NAME, vault, 45)
    assert result.returncode == 1, result.stderr
    assert _statuses(result.stdout) == EXPECTED_45_DAYS


def test_vault_fresh_values_exit_0(vault):
    result = _report(VAULT_NAME, vault, 1)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(_statuses(result.stdout).values()) == {"OK"}


def test_an_unreachable_backend_is_one_line_and_exit_2():
    result = _report(VAULT_NAME, {"VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "x"}, 0)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_vault_rotation_policy_is_stamped_as_custom_metadata_without_touching_data(vault):
    stack, config_file = PLANS[VAULT_NAME]
    args = [sys.executable, "-m", "stacktools.rotation", "--stack", stack, "--stamp-metadata"]
    args += ["--config-file", str(config_file)] if config_file else []
    result = subprocess.run(args, cwd=ROOT, env={**os.environ, **vault}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    client = hvac.Client(url=vault["VAULT_ADDR"], token=vault["VAULT_TOKEN"], timeout=5)
    mount = render(stack, config_file).setting("vaultKvMount")
    for group, entries in catalog.CATALOG.by_group.items():
        path = catalog.CATALOG.app.grouped_path(stack, group)
        meta = client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=mount)["data"]
        assert meta["custom_metadata"][f"{catalog.CATALOG.app.name}-max-age-days"] == str(catalog.CATALOG.max_age_days(group))
        assert meta["current_version"] == 1  # metadata only: no new version of the data
        data = client.secrets.kv.v2.read_secret_version(path=path, mount_point=mount, raise_on_deleted_version=True)["data"]["data"]
        assert data == {e.key: "v" for e in entries}

"""`make check-values` against real servers on 127.0.0.1: moto's server mode (AWS) and OpenBao (Vault).

Values are written with the real clients, one group left empty and one key
left out of a group; the check must list exactly those as missing, name the
ones `pulumi up` would wait for, never print a value, and fail with one line
naming the expected variables when credentials are absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from infra import catalog
from tests.openbao import remount
from tests.shared_servers import reset_moto
from tests.support import PLANS, ROOT, plans_of, render

AWS_NAME = plans_of("aws")[0]
VAULT_NAME = plans_of("vault")[0]
CAT = catalog.CATALOG
EMPTY_GROUP = list(CAT.by_group)[-1]
"""Its secret exists with no value (or no path at all in Vault)."""
PARTIAL_GROUP = next(g for g, entries in CAT.by_group.items() if g != EMPTY_GROUP and len(entries) > 1)
LEFT_OUT = CAT.by_group[PARTIAL_GROUP][-1]
"""One key the partial group's document lacks."""
MISSING = {e.env_var for e in CAT.by_group[EMPTY_GROUP]} | {LEFT_OUT.env_var}
VALUE = "not-printed-7f3a"


def _document(group: str) -> dict[str, str]:
    return {e.key: VALUE for e in CAT.by_group[group] if e is not LEFT_OUT}


def _check(name: str, env: dict) -> subprocess.CompletedProcess:
    stack, config_file = PLANS[name]
    args = [sys.executable, "-m", "stacktools.checkvalues", "--stack", stack]
    args += ["--config-file", str(config_file)] if config_file else []
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VAULT_"))}
    return subprocess.run(args, cwd=ROOT, env={**clean, "AWS_EC2_METADATA_DISABLED": "true", **env}, capture_output=True, text=True, timeout=120)


def _statuses(stdout: str) -> dict[str, str]:
    names = {e.env_var for e in CAT}
    return {line.split()[0]: line.split()[-1] for line in stdout.splitlines() if line.split() and line.split()[0] in names}


def _assert_missing_exactly(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    statuses = _statuses(result.stdout)
    assert {k for k, v in statuses.items() if v == "MISSING"} == MISSING
    assert {k for k, v in statuses.items() if v == "present"} == {e.env_var for e in CAT} - MISSING
    # What `pulumi up` waits for is listed apart from the optional values.
    waited, optional = result.stdout.split("-- what `pulumi up` waits for")[1].split("-- optional")
    assert set(_statuses(waited)) == {e.env_var for e in CAT if e.sync.await_ready}
    assert set(_statuses(optional)) == {e.env_var for e in CAT if not e.sync.await_ready}
    waits = sorted(e.env_var for e in CAT if e.env_var in MISSING and e.sync.await_ready)
    if waits:
        assert result.stdout.strip().splitlines()[-1] == f"put these before `pulumi up`: {', '.join(waits)}"
    assert VALUE not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def aws(moto_url):
    plan = render(*PLANS[AWS_NAME])
    client, env = reset_moto(moto_url, plan.setting("awsRegion"))
    for group in CAT.by_group:
        name = CAT.app.grouped_path(plan.stack, group)
        client.create_secret(Name=name)
        if group != EMPTY_GROUP:
            client.put_secret_value(SecretId=name, SecretString=json.dumps(_document(group)))
    return env, client, plan.stack


def test_aws_lists_exactly_the_values_the_backend_lacks_and_exits_1(aws):
    env, _, _ = aws
    _assert_missing_exactly(_check(AWS_NAME, env))


def test_aws_without_credentials_is_one_line_naming_the_variables(aws):
    env, _, _ = aws
    result = _check(AWS_NAME, {"AWS_ENDPOINT_URL": env["AWS_ENDPOINT_URL"], "AWS_DEFAULT_REGION": env["AWS_DEFAULT_REGION"]})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "AWS_ACCESS_KEY_ID" in line and "AWS_PROFILE" in line and render(*PLANS[AWS_NAME]).setting("awsAccountId") in line


@pytest.fixture(scope="module")
def vault(bao_server):
    plan = render(*PLANS[VAULT_NAME])
    mount = plan.setting("vaultKvMount")
    client, env, _ = bao_server
    remount(client, mount, "kv", {"version": "2"})  # fresh: no other module's values
    for group in CAT.by_group:
        if group != EMPTY_GROUP:
            client.secrets.kv.v2.create_or_update_secret(path=CAT.app.grouped_path(plan.stack, group), secret=_document(group), mount_point=mount)
    return env, client, mount, plan.stack


def test_vault_lists_exactly_the_values_the_backend_lacks_and_exits_1(vault):
    env, _, _, _ = vault
    _assert_missing_exactly(_check(VAULT_NAME, env))


def test_vault_with_every_value_present_exits_0(vault):
    env, client, mount, stack = vault
    try:
        for group in CAT.by_group:
            client.secrets.kv.v2.create_or_update_secret(
                path=CAT.app.grouped_path(stack, group), secret={e.key: VALUE for e in CAT.by_group[group]}, mount_point=mount
            )
        result = _check(VAULT_NAME, env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert set(_statuses(result.stdout).values()) == {"present"}
    finally:  # back to the module's state, whatever order the tests run in
        for group in CAT.by_group:
            path = CAT.app.grouped_path(stack, group)
            if group == EMPTY_GROUP:
                client.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point=mount)
            else:
                client.secrets.kv.v2.create_or_update_secret(path=path, secret=_document(group), mount_point=mount)


def test_vault_without_a_token_refuses_before_connecting_naming_vault_token():
    # Port 1 refuses connections: a connection attempt would fail differently.
    result = _check(VAULT_NAME, {"VAULT_ADDR": "http://127.0.0.1:1"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "VAULT_TOKEN is not set" in line and "ConnectionError" not in line


def _make_check_values(env: dict) -> subprocess.CompletedProcess:
    stack, config_file = PLANS[AWS_NAME]
    assert config_file is None, "make targets run the project's own stacks"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VAULT_", "MAKE")) and k != "MFLAGS"}
    make = shutil.which("make")
    assert make, "make is missing"
    return subprocess.run([make, "--no-print-directory", "check-values", f"STACK={stack}", "DEADLINE=30"], cwd=ROOT,
                          env={**clean, "AWS_EC2_METADATA_DISABLED": "true", **env}, capture_output=True, text=True, timeout=120)


def test_make_passes_the_tools_exit_status_through_0_1_and_2(aws):
    env, client, stack = aws
    # 1: one value missing (a finding), not make's own 2.
    found = _make_check_values(env)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "put these before `pulumi up`" in found.stdout or "not (" in found.stdout
    # 2: the backend cannot be read.
    unreadable = _make_check_values({**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:1"})
    assert unreadable.returncode == 2 and "cannot connect" in unreadable.stderr, unreadable.stdout + unreadable.stderr
    # 0: everything there.
    try:
        for group in CAT.by_group:
            client.put_secret_value(SecretId=CAT.app.grouped_path(stack, group), SecretString=json.dumps({e.key: VALUE for e in CAT.by_group[group]}))
        ok = _make_check_values(env)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert set(_statuses(ok.stdout).values()) == {"present"}
    finally:  # back to the module's state
        for group in CAT.by_group:
            name = CAT.app.grouped_path(stack, group)
            client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
            client.create_secret(Name=name)
            if group != EMPTY_GROUP:
                client.put_secret_value(SecretId=name, SecretString=json.dumps(_document(group)))

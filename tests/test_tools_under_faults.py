"""check-values and rotation-report under faults: never OK for a value that is gone, one line naming the cause.

Against real servers on 127.0.0.1 (moto's server mode for AWS, OpenBao for
Vault), values are put in the states that made the tools say OK or MISSING
wrongly: a destroyed or deleted current Vault version, a key missing from its
group, a group that is ``{}``, not JSON or binary, an AWS secret scheduled for
deletion, ``""`` and ``null`` values. Both tools must agree value by value
(they share the backend's reader) and neither may call such a value OK.
Against faulty endpoints (``tests.faults``: refused, silent, 429/5xx/403, TLS
with another CA) and a sealed OpenBao they must exit 2 with one line naming
the real cause and the address used, within a short ``--deadline``.
Everything runs in this process (``run_main``); the servers are shared per module.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import re
import time

import pytest
import yaml

from infra import catalog
from infra.backends.reading import Deadline, ValueState, reader
from infra.config import from_stack_file
from stacktools import checkvalues, ops, rotation
from tests.faults import endpoint, refused, tls_pair
from tests.kube_api import deployed
from tests.openbao import remount
from tests.shared_servers import reset_moto
from tests.support import PLANS, one_line_error, plans_of, render, run_main

CAT = catalog.CATALOG
AWS_NAME = plans_of("aws")[0]
VAULT_NAME = plans_of("vault")[0]
NAMES = {e.env_var for e in CAT}
GROUPS = list(CAT.by_group)
PARTIAL = next(g for g, entries in CAT.by_group.items() if len(entries) >= 4)
"""A group with room for a present, an absent, an empty and a null key."""
P_PRESENT, P_ABSENT, P_EMPTY, P_NULL = CAT.by_group[PARTIAL][:4]
OTHERS = [g for g in GROUPS if g != PARTIAL]
SHORT = "1"
"""--deadline for the cases that must give up: seconds."""
NAMED_CALL = "3"
"""--deadline for a case that must name the call that hung: the tool must be inside it by then."""


def _clean_env(monkeypatch, **env: str) -> None:
    for key in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE",
                "VAULT_ADDR", "VAULT_TOKEN", "VAULT_CACERT", "ARAGORA_TOOL_DEADLINE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def _args(name: str, config_file=None) -> list[str]:
    stack, shipped = PLANS[name]
    config = config_file or shipped
    return ["--stack", stack, *(["--config-file", str(config)] if config else [])]


def _rows(stdout: str) -> dict[str, str]:
    """``{env var: status}`` from a tool's table (its last column)."""
    return {line.split()[0]: line.split()[-1] for line in stdout.splitlines() if line.split() and line.split()[0] in NAMES}


def _both(name: str, config_file=None, *extra: str):
    return run_main(checkvalues.main, [*_args(name, config_file), *extra]), run_main(rotation.main, [*_args(name, config_file), *extra])


def _assert_gone_values_are_never_ok(expected: dict[str, str], name: str) -> None:
    """Both tools: exactly ``expected`` (env var -> MISSING/EMPTY/UNREADABLE) not usable, the rest usable; exit 1."""
    check, report = _both(name)
    assert check.returncode == 1 and report.returncode == 1, check.stdout + check.stderr + report.stdout + report.stderr
    checked, reported = _rows(check.stdout), _rows(report.stdout)
    assert {k: v for k, v in checked.items() if v != "present"} == expected, check.stdout
    assert {k: v for k, v in reported.items() if v not in ("OK", "OVERDUE")} == expected, report.stdout
    for var in expected:  # each with its reason
        assert re.search(rf"^  {var}: \w+: .+", check.stdout, re.M) and re.search(rf"^  {var}: \w+: .+", report.stdout, re.M)
    assert "value-" not in check.stdout + report.stdout  # values are never printed


# --- Vault (OpenBao) ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bao(bao_server):
    plan = render(*PLANS[VAULT_NAME])
    mount = plan.setting("vaultKvMount")
    client, env, workdir = bao_server
    remount(client, mount, "kv", {"version": "2"})  # fresh: no other module's values
    return client, env, mount, plan.stack, workdir


@pytest.fixture
def vault(bao, monkeypatch):
    """The module's server, emptied: every catalog path absent."""
    client, env, mount, stack, workdir = bao
    for group in GROUPS:
        client.secrets.kv.v2.delete_metadata_and_all_versions(path=CAT.app.grouped_path(stack, group), mount_point=mount)
    _clean_env(monkeypatch, **env)
    return client, mount, stack, workdir


def _put(client, mount, stack, group, document):
    return client.secrets.kv.v2.create_or_update_secret(path=CAT.app.grouped_path(stack, group), secret=document, mount_point=mount)


def _full(group: str) -> dict:
    return {e.key: f"value-{e.key}" for e in CAT.by_group[group]}


def test_vault_destroyed_deleted_partial_empty_and_null_values_are_never_ok(vault):
    client, mount, stack, _ = vault
    destroyed, deleted, empty_doc = OTHERS[0], OTHERS[1], OTHERS[2]
    for group in GROUPS:
        _put(client, mount, stack, group, _full(group))
    # A second version whose current state is gone: the first is still readable, ESO reads only the current one.
    for group in (destroyed, deleted):
        _put(client, mount, stack, group, _full(group))
    client.secrets.kv.v2.destroy_secret_versions(path=CAT.app.grouped_path(stack, destroyed), versions=[2], mount_point=mount)
    client.secrets.kv.v2.delete_latest_version_of_secret(path=CAT.app.grouped_path(stack, deleted), mount_point=mount)
    _put(client, mount, stack, empty_doc, {})
    partial = _full(PARTIAL)
    del partial[P_ABSENT.key]
    partial[P_EMPTY.key], partial[P_NULL.key] = "", None
    _put(client, mount, stack, PARTIAL, partial)
    expected = {e.env_var: "MISSING" for g in (destroyed, deleted, empty_doc) for e in CAT.by_group[g]}
    expected |= {P_ABSENT.env_var: "MISSING", P_EMPTY.env_var: "EMPTY", P_NULL.env_var: "EMPTY"}
    _assert_gone_values_are_never_ok(expected, VAULT_NAME)
    check = run_main(checkvalues.main, _args(VAULT_NAME))
    assert "current version 2 is destroyed" in check.stdout and "current version 2 is deleted" in check.stdout
    assert "the secret is {}" in check.stdout


def test_vault_a_value_is_dated_by_the_version_that_wrote_it_not_the_groups_latest(vault):
    client, mount, stack, _ = vault
    for group in GROUPS:
        _put(client, mount, stack, group, _full(group))
    time.sleep(0.05)
    rewritten = {**_full(PARTIAL), P_ABSENT.key: "value-rotated"}
    _put(client, mount, stack, PARTIAL, rewritten)
    meta = client.secrets.kv.v2.read_secret_metadata(path=CAT.app.grouped_path(stack, PARTIAL), mount_point=mount)["data"]["versions"]
    cfg = from_stack_file(*PLANS[VAULT_NAME])
    readings = {r.entry.env_var: r for r in reader(cfg.environment, cfg.backend, CAT, deadline=Deadline(30))}
    first, second = (dt.datetime.fromisoformat(meta[v]["created_time"][:26].rstrip("Z") + "+00:00") for v in ("1", "2"))
    assert readings[P_ABSENT.env_var].version == "2" and readings[P_PRESENT.env_var].version == "2"
    assert abs(readings[P_ABSENT.env_var].created - second) < dt.timedelta(milliseconds=1)
    assert abs(readings[P_PRESENT.env_var].created - first) < dt.timedelta(milliseconds=1)


def _vault_config(tmp_path, **keys) -> str:
    """The Vault example's stack file with ``keys`` (camelCase) changed, in a directory of its own."""
    stack, config_file = PLANS[VAULT_NAME]
    data = yaml.safe_load(config_file.read_text())
    data["config"] |= {f"aragora-secrets:{k}": v for k, v in keys.items()}
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize("engine", ["absent", "kv-v1"])
def test_vault_a_missing_or_kv_v1_mount_is_a_mount_error_not_missing_values(vault, tmp_path, engine):
    client, _, _, _ = vault
    other = f"faults-{engine}"
    if engine == "kv-v1":
        remount(client, other, "kv", {"version": "1"})
    config = _vault_config(tmp_path, vaultKvMount=other)
    for result in _both(VAULT_NAME, config):
        line = one_line_error(result, f"{other}/")
        assert ("no secrets engine is mounted" in line) if engine == "absent" else ("kv version 1, not KV version 2" in line)
        assert "MISSING" not in result.stdout


def test_vault_403_keeps_the_servers_reason_and_names_the_address_used(vault, monkeypatch):
    client, mount, _, _ = vault
    # Allowed to see the mount, not to read a secret's metadata: Vault's "1 error occurred:\n\t* permission denied".
    client.sys.create_or_update_policy(name="list-only", policy=f'path "{mount}/metadata/*" {{ capabilities = ["list"] }}')
    token = client.auth.token.create(policies=["list-only"], ttl="5m")["auth"]["client_token"]
    monkeypatch.setenv("VAULT_TOKEN", token)
    for result in _both(VAULT_NAME):
        one_line_error(result, "403", "1 error occurred: * permission denied", client.url, "VAULT_ADDR")
    # A token that may touch nothing under the mount cannot tell a missing mount from a forbidden one: the line says both.
    monkeypatch.setenv("VAULT_TOKEN", client.auth.token.create(policies=["default"], ttl="5m")["auth"]["client_token"])
    one_line_error(run_main(checkvalues.main, _args(VAULT_NAME)), "is not mounted, or this token's policies grant nothing under it", "403")


def test_vault_sealed_is_named_as_sealed(vault):
    client, _, _, workdir = vault
    unseal_key = re.search(r"Unseal Key: (\S+)", (workdir / "bao.log").read_text())[1]
    client.sys.seal()
    try:
        result = run_main(checkvalues.main, [*_args(VAULT_NAME), "--deadline", "10"])
        one_line_error(result, "sealed", client.url)
    finally:
        client.sys.submit_unseal_key(unseal_key)
        deadline = time.monotonic() + 10
        while client.sys.is_sealed() and time.monotonic() < deadline:
            time.sleep(0.05)


# --- faulty Vault endpoints (no server needed) -------------------------------------------------

VAULT_403 = json.dumps({"errors": ["1 error occurred:\n\t* permission denied\n\n"]}).encode()


@pytest.mark.parametrize(("status", "body", "words"), [
    (429, b'{"errors":["rate limit quota exceeded"]}', ("throttled (429)", "rate limit quota exceeded")),
    (500, b'{"errors":["internal error"]}', ("server error", "internal error")),
    (503, b'{"errors":["Vault is sealed"]}', ("sealed",)),
    (403, VAULT_403, ("403", "permission denied")),
])
def test_vault_http_faults_name_the_cause(monkeypatch, status, body, words):
    paths = {"/v1/sys/seal-status": (200, b'{"sealed": true, "initialized": true}')} if status == 503 else {}
    with endpoint(status, body, paths=paths) as server:
        _clean_env(monkeypatch, VAULT_ADDR=server.url, VAULT_TOKEN="t")
        one_line_error(run_main(checkvalues.main, _args(VAULT_NAME)), *words, server.url)
        if status in (429, 500):  # retried with backoff, then given up
            assert len(server.requests) == 3, server.requests


def test_vault_refused_and_silent_endpoints_are_one_line_in_time(monkeypatch):
    _clean_env(monkeypatch, VAULT_ADDR=refused(), VAULT_TOKEN="t")
    one_line_error(run_main(rotation.main, _args(VAULT_NAME)), "cannot connect", "VAULT_ADDR")
    with endpoint(silent=True) as server:
        _clean_env(monkeypatch, VAULT_ADDR=server.url, VAULT_TOKEN="t")
        start = time.monotonic()
        one_line_error(run_main(rotation.main, [*_args(VAULT_NAME), "--deadline", NAMED_CALL]), server.url)
        assert time.monotonic() - start < float(NAMED_CALL) + 2


def test_vault_uses_the_stacks_ca_bundle(monkeypatch, tmp_path):
    ours, theirs = tls_pair(tmp_path, "ours"), tls_pair(tmp_path, "theirs")
    with endpoint(403, VAULT_403, tls=ours) as server:
        _clean_env(monkeypatch, VAULT_ADDR=server.url, VAULT_TOKEN="t")
        (tmp_path / "other").mkdir()
        wrong = _vault_config(tmp_path / "other", vaultCaBundle=base64.b64encode(theirs.ca_pem).decode())
        one_line_error(run_main(checkvalues.main, _args(VAULT_NAME, wrong)), "TLS", "the stack's vaultCaBundle", server.url)
        right = _vault_config(tmp_path, vaultCaBundle=base64.b64encode(ours.ca_pem).decode())
        # With the stack's CA the connection is made: what fails now is the server's answer.
        one_line_error(run_main(checkvalues.main, _args(VAULT_NAME, right)), "403", "permission denied")


# --- AWS (moto) --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto(moto_url):
    plan = render(*PLANS[AWS_NAME])
    client, env = reset_moto(moto_url, plan.setting("awsRegion"))
    return client, env, plan.stack, moto_url


@pytest.fixture
def aws(moto, monkeypatch):
    """The module's server with every catalog secret gone for good."""
    client, env, stack, _ = moto
    for group in GROUPS:
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_secret(SecretId=CAT.app.grouped_path(stack, group), ForceDeleteWithoutRecovery=True)
    _clean_env(monkeypatch, **env)
    return client, stack


def test_aws_scheduled_deletion_binary_not_json_partial_empty_and_null_are_never_ok(aws):
    client, stack = aws
    scheduled, binary, not_json = OTHERS[0], OTHERS[1], OTHERS[2]
    partial = _full(PARTIAL)
    del partial[P_ABSENT.key]
    partial[P_EMPTY.key], partial[P_NULL.key] = "", None
    # Any further group (a catalog grows) holds its full document: only the cases above are not OK.
    for group, document in {PARTIAL: partial, scheduled: _full(scheduled), **{g: _full(g) for g in OTHERS[3:]}}.items():
        client.create_secret(Name=CAT.app.grouped_path(stack, group), SecretString=json.dumps(document))
    client.delete_secret(SecretId=CAT.app.grouped_path(stack, scheduled), RecoveryWindowInDays=7)
    client.create_secret(Name=CAT.app.grouped_path(stack, binary), SecretBinary=b"\x00\x01")
    client.create_secret(Name=CAT.app.grouped_path(stack, not_json), SecretString="url=postgres://")
    expected = {e.env_var: "MISSING" for e in CAT.by_group[scheduled]}
    expected |= {e.env_var: "UNREADABLE" for g in (binary, not_json) for e in CAT.by_group[g]}
    expected |= {P_ABSENT.env_var: "MISSING", P_EMPTY.env_var: "EMPTY", P_NULL.env_var: "EMPTY"}
    _assert_gone_values_are_never_ok(expected, AWS_NAME)
    check = run_main(checkvalues.main, _args(AWS_NAME))
    assert "scheduled for deletion" in check.stdout and "binary" in check.stdout and "not JSON" in check.stdout
    # A group that is {}: every key missing.
    client.put_secret_value(SecretId=CAT.app.grouped_path(stack, not_json), SecretString="{}")
    assert {k for k, v in _rows(run_main(checkvalues.main, _args(AWS_NAME)).stdout).items() if v == "MISSING"} >= {e.env_var for e in CAT.by_group[not_json]}


def test_aws_a_value_is_dated_by_the_version_that_wrote_it(aws):
    client, stack = aws
    name = CAT.app.grouped_path(stack, PARTIAL)
    for group in GROUPS:
        client.create_secret(Name=CAT.app.grouped_path(stack, group), SecretString=json.dumps(_full(group)))
    time.sleep(1.1)  # moto dates versions to the second
    client.put_secret_value(SecretId=name, SecretString=json.dumps({**_full(PARTIAL), P_ABSENT.key: "value-rotated"}))
    versions = sorted(client.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"], key=lambda v: v["CreatedDate"])
    cfg = from_stack_file(*PLANS[AWS_NAME])
    readings = {r.entry.env_var: r for r in reader(cfg.environment, cfg.backend, CAT, deadline=Deadline(30))}
    assert readings[P_ABSENT.env_var].created == versions[-1]["CreatedDate"] and readings[P_ABSENT.env_var].version == versions[-1]["VersionId"]
    assert readings[P_PRESENT.env_var].created == versions[0]["CreatedDate"]
    assert all(r.state is ValueState.PRESENT for r in readings.values())


def test_aws_credentials_of_another_account_are_refused(aws, tmp_path):
    stack, config_file = PLANS[AWS_NAME]
    from tests.support import ROOT
    data = yaml.safe_load((config_file or ROOT / f"Pulumi.{stack}.yaml").read_text())
    data["config"]["aragora-secrets:awsAccountId"] = "999988887777"
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(data))
    actual = render(*PLANS[AWS_NAME]).setting("awsAccountId")
    for result in _both(AWS_NAME, tmp_path / f"Pulumi.{stack}.yaml"):
        one_line_error(result, actual, "999988887777")


def test_rotation_report_refuses_a_now_before_a_values_creation(aws):
    client, stack = aws
    for group in GROUPS:
        client.create_secret(Name=CAT.app.grouped_path(stack, group), SecretString=json.dumps(_full(group)))
    result = run_main(rotation.main, [*_args(AWS_NAME), "--now", "2020-01-01T00:00:00Z"])
    one_line_error(result, "--now 2020-01-01T00:00:00Z is before", "negative")
    assert "-" + "1d" not in result.stdout and result.stdout == ""
    out_of_range = run_main(rotation.main, [*_args(AWS_NAME), "--now", "1999-12-31T00:00:00Z"])
    assert out_of_range.returncode == 2 and "out of range" in out_of_range.stderr


STS_ERROR = b"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error></ErrorResponse>"


@pytest.mark.parametrize(("status", "code", "words"), [
    (500, "InternalFailure", ("server error 500", "InternalFailure")),
    (429, "Throttling", ("throttled", "Throttling")),
    (403, "InvalidClientTokenId", ("refused the credentials", "InvalidClientTokenId")),
])
def test_aws_http_faults_name_the_cause(monkeypatch, status, code, words):
    body = STS_ERROR.replace(b"{code}", code.encode()).replace(b"{message}", b"injected")
    with endpoint(status, body, content_type="text/xml") as server:
        _clean_env(monkeypatch, AWS_ENDPOINT_URL=server.url, AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b")
        one_line_error(run_main(checkvalues.main, [*_args(AWS_NAME), "--deadline", "15"]), *words, server.url)


def test_aws_refused_and_silent_endpoints_are_one_line_in_time(monkeypatch):
    _clean_env(monkeypatch, AWS_ENDPOINT_URL=refused(), AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b")
    line = one_line_error(run_main(checkvalues.main, _args(AWS_NAME)), "cannot connect")
    assert "credentials" not in line  # a network error is not a credentials problem
    with endpoint(silent=True) as server:
        _clean_env(monkeypatch, AWS_ENDPOINT_URL=server.url, AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b")
        # Long enough that the deadline finds the tool inside the STS call even when importing boto3 is slow
        # under load (with 1 s it sometimes expired before the first call, naming no call): what hung is named.
        start = time.monotonic()
        one_line_error(run_main(rotation.main, [*_args(AWS_NAME), "--deadline", NAMED_CALL]), "STS GetCallerIdentity", server.url)
        assert time.monotonic() - start < float(NAMED_CALL) + 2


def test_the_documented_exit_statuses_deadline_and_bounds_are_the_codes():
    from infra.backends import reading
    from stacktools import cli, ops
    from tests.support import ROOT

    text = (ROOT / "docs" / "operations.md").read_text()
    table = dict(re.findall(r"^\| +(\d) \| ([a-z ]+) \|", text, re.M))
    assert table == {str(cli.OK): "ok", str(cli.FINDING): "a finding", str(cli.CANNOT_CHECK): "cannot check"}
    assert f"after {reading.DEFAULT_DEADLINE_SECONDS:g} seconds in all" in text and f"`{reading.DEADLINE_ENV}`" in text
    assert f"at\nmost {reading.MAX_DEADLINE_SECONDS:g}" in text or f"at most {reading.MAX_DEADLINE_SECONDS:g}" in text
    assert f"`--request-timeout` ({ops.REQUEST_TIMEOUT_SECONDS} s)" in text.replace("\n", " ")
    flat = " ".join(text.split())
    assert f"connect ({reading.CONNECT_TIMEOUT_SECONDS:g} s) and read ({reading.CALL_TIMEOUT_SECONDS:g} s) timeouts, and {reading.RETRIES} retries" in flat
    assert "looking back 10 versions" in flat
    from infra.backends.aws import reader as aws_reader
    from infra.backends.vault import reader as vault_reader
    assert aws_reader.HISTORY == vault_reader.HISTORY == 10


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    with deployed(PLANS[AWS_NAME][0], tmp_path, monkeypatch) as api:
        yield api


def test_verify_with_the_backend_fails_on_a_value_gone_from_it_while_its_secret_keeps_a_copy(aws, cluster):
    client, stack = aws
    assert PLANS[AWS_NAME][1] is None, "verify runs a project stack"
    for group in GROUPS:
        client.create_secret(Name=CAT.app.grouped_path(stack, group), SecretString=json.dumps(_full(group)))
    gone = next(e for e in CAT if e.sync.must_sync)
    client.delete_secret(SecretId=CAT.app.grouped_path(stack, gone.group), RecoveryWindowInDays=7)
    assert run_main(ops.main, ["verify", "--stack", stack]).returncode == 0  # the cluster alone cannot tell
    result = run_main(ops.main, ["verify", "--stack", stack, "--backend"])
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"not in the backend: {gone.env_var} (missing: the secret is scheduled for deletion" in result.stdout

"""`make operator`: one Pulumi Kubernetes Operator v2 Stack per stack file, valid for the operator's CRD,
waves as prerequisites, drift as resync, an identity per workspace and no static credential."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from infra import separation
from infra.backends import WORKSPACE, capability, load, names
from infra.config import claims, from_stack_file
from infra.fields import PROJECT, ConfigError
from stacktools import matrix, operator
from stacktools.matrix import stacks
from tests.support import ROOT, STACKS, configured, run_main

SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "pko-v2.9.0-stack.schema.json").read_text())
STATE = ("--state", "s3://aragora-state", "--secrets-provider", "awskms://alias/pulumi-state?region=us-east-1")


def _run(*args: str, cwd: Path = ROOT):
    if cwd == ROOT:
        return run_main(operator.main, list(args))
    # Another tree (a copy with a changed stack file): its own interpreter reads that tree.
    return subprocess.run([sys.executable, "-m", "stacktools.operator", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _docs(out: Path) -> list[dict]:
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    return [d for f in kustomization["resources"] for d in yaml.safe_load_all((out / f).read_text())]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, list[dict]]:
    """Both state modes: Pulumi Cloud (the default) and a self-managed backend with a KMS secrets provider."""
    found = {}
    for mode, extra in (("cloud", ()), ("self-managed", STATE)):
        out = tmp_path_factory.mktemp(mode)
        result = _run("--out", str(out), "--repo", "https://github.com/example/aragora-secrets.git", *extra)
        assert result.returncode == 0, result.stderr
        found[mode] = _docs(out)
    return found


def _stacks(docs: list[dict]) -> dict[str, dict]:
    return {d["spec"]["stack"]: d for d in docs if d["kind"] == "Stack"}


@pytest.mark.parametrize("mode", ["cloud", "self-managed"])
def test_one_stack_object_per_stack_file_each_valid_for_the_operators_v1_schema(generated, mode):
    by_stack = _stacks(generated[mode])
    assert sorted(by_stack) == sorted(STACKS)
    for stack in by_stack.values():
        jsonschema.validate(stack, SCHEMA)


def test_the_schema_refuses_a_misspelt_field_so_validation_can_fail(generated):
    stack = json.loads(json.dumps(next(iter(_stacks(generated["cloud"]).values()))))
    stack["spec"]["resyncFrequencySecond"] = 60
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(stack, SCHEMA)


def test_a_later_wave_waits_for_every_stack_of_the_nearest_earlier_wave(generated):
    by_stack = _stacks(generated["cloud"])
    waves = {s: int(configured(s, "deployWave")) for s in STACKS}
    for stack, doc in by_stack.items():
        earlier = [w for w in waves.values() if w < waves[stack]]
        expected = sorted(f"{PROJECT}-{s}" for s, w in waves.items() if earlier and w == max(earlier))
        got = doc["spec"].get("prerequisites", [])
        assert sorted(p["name"] for p in got) == expected
        assert all(p["requirement"]["succeededWithinDuration"] for p in got)
    # Whatever the stack files: the first wave waits on nothing, and with two waves some stack waits.
    first = min(waves.values())
    assert all("prerequisites" not in by_stack[s]["spec"] for s, w in waves.items() if w == first)
    assert any("prerequisites" in d["spec"] for d in by_stack.values()) is (len(set(waves.values())) > 1)


def test_drift_check_becomes_a_refreshing_resync_that_fails_on_drift(generated):
    for stack, doc in _stacks(generated["cloud"]).items():
        spec = doc["spec"]
        assert spec["refresh"] is spec["expectNoRefreshChanges"] is spec["continueResyncOnCommitMatch"] is True
        seconds = {"hourly": 3600, "daily": 86400}[configured(stack, "driftCheck")]
        assert spec["resyncFrequencySeconds"] == seconds >= 60
        assert spec["destroyOnFinalize"] is False


def test_each_workspace_runs_as_its_own_service_account_carrying_the_stacks_deployer_identity(generated):
    docs = generated["cloud"]
    accounts = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in docs if d["kind"] == "ServiceAccount"}
    by_stack = _stacks(docs)
    assert len({s["spec"]["serviceAccountName"] for s in by_stack.values()}) == len(by_stack)
    for stack, doc in by_stack.items():
        account = accounts[(doc["metadata"]["namespace"], doc["spec"]["serviceAccountName"])]
        cfg = from_stack_file(stack)
        workspace = capability(load(cfg.backend.name), WORKSPACE)(cfg.backend)
        assert workspace.identity and workspace.identity == configured(stack, workspace.identity_key)
        assert set(account["metadata"]["annotations"].values()) == {workspace.identity}


def test_the_only_rbac_is_each_workspaces_auth_delegator_binding(generated):
    docs = generated["cloud"]
    rbac = [d for d in docs if d["apiVersion"].startswith("rbac.authorization.k8s.io/")]
    assert {d["kind"] for d in rbac} == {"ClusterRoleBinding"}
    accounts = {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"}
    assert {d["roleRef"]["name"] for d in rbac} == {"system:auth-delegator"}
    assert sorted(s["name"] for d in rbac for s in d["subjects"]) == sorted(accounts)
    assert all(len(d["subjects"]) == 1 and d["subjects"][0]["kind"] == "ServiceAccount" for d in rbac)


def test_no_static_credential_self_managed_state_needs_no_token_and_cloud_reads_one_from_a_secret(generated):
    for doc in _stacks(generated["self-managed"]).values():
        spec = doc["spec"]
        assert spec["backend"] == STATE[1] and spec["secretsProvider"] == STATE[3]
        assert "envRefs" not in spec and "accessTokenSecret" not in spec
    for doc in _stacks(generated["cloud"]).values():
        refs = doc["spec"]["envRefs"]
        assert list(refs) == ["PULUMI_ACCESS_TOKEN"] and refs["PULUMI_ACCESS_TOKEN"]["type"] == "Secret"
    for docs in generated.values():
        text = yaml.safe_dump_all(docs)
        for word in ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "VAULT_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "literal"):
            assert word not in text


def test_every_shipped_backend_says_how_its_workspace_gets_credentials():
    # A new backend may lack one: the generator then refuses its stacks in one line (tests/test_library_layout.py).
    shipped = {configured(s, "backend") for s in STACKS}
    for name in names():
        assert WORKSPACE.available(load(name)) or name not in shipped, name


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (("--state", "s3://bucket"), "--secrets-provider"),
        (("--state", "ftp://bucket", "--secrets-provider", "awskms://k"), "--state"),
        (("--state", "s3://b", "--secrets-provider", "passphrase"), "--secrets-provider"),
        (("--repo", "/srv/git/aragora"), "--repo"),
        (("--repo", "https://x/y.git", "--branch", "main;rm -rf"), "--branch"),
        (("--namespace", "Not_A_Label"), "--namespace"),
        (("--flux-source", "HelmRepository/x"), "--flux-source"),
    ],
)
def test_a_bad_option_is_one_line_naming_it_and_nothing_is_written(tmp_path, args, key):
    result = _run("--out", str(tmp_path / "out"), *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {key}") and result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_stack_without_its_deployer_identity_is_refused_naming_the_key_and_file(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(".venv", ".git", "*.pyc", "policy"))
    stack = STACKS[0]
    cfg = from_stack_file(stack)
    key = capability(load(cfg.backend.name), WORKSPACE)(cfg.backend).identity_key
    path = tree / f"Pulumi.{stack}.yaml"
    path.write_text("\n".join(line for line in path.read_text().splitlines() if f":{key}:" not in line) + "\n")
    result = _run("--out", str(tmp_path / "out"), "--repo", "https://x/y.git", cwd=tree)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{PROJECT}:{key}: missing in Pulumi.{stack}.yaml" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("stack", STACKS)
def test_a_second_stack_with_the_same_deployer_identity_is_refused_naming_the_key(stack):
    cfg = from_stack_file(stack)
    key = capability(load(cfg.backend.name), WORKSPACE)(cfg.backend).identity_key
    same_identity = [c for c in claims(cfg) if c.key == key]
    assert same_identity, f"{key} is not a separation claim"
    with pytest.raises(ConfigError, match=f"{PROJECT}:{key}: .* is also stack {stack}'s"):
        separation.check("another", same_identity, {stack: claims(cfg)})


def test_the_flux_source_replaces_the_git_repository(tmp_path):
    result = _run("--out", str(tmp_path), "--flux-source", "GitRepository/aragora-secrets")
    assert result.returncode == 0, result.stderr
    for doc in _stacks(_docs(tmp_path)).values():
        assert doc["spec"]["fluxSource"]["sourceRef"] == {
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "name": "aragora-secrets",
        }
        assert "projectRepo" not in doc["spec"]
        jsonschema.validate(doc, SCHEMA)


def test_the_generator_reads_the_same_stack_list_as_ci():
    assert [c.environment for c in stacks()] == json.loads(run_main(matrix.main, []).stdout)
    assert operator.names("x") == f"{PROJECT}-x"

"""`make operator`: per stack file a deploy Stack and a drift Stack, valid for the operator's whole v2.9.0 CRD,
waves as prerequisites that never schedule an `up`, drift that changes nothing and pages, an identity per
workspace and no credential in any manifest.

Expectations come from the stack files and the upstream fixture, never from a list of stacks here.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml

from infra import separation
from infra.backends import WORKSPACE, capability, load, names
from infra.config import DriftCheck, claims, from_stack_file
from infra.fields import PROJECT, ConfigError
from infra.stackfiles import stack_of
from stacktools import matrix, operator
from stacktools.matrix import stacks
from tests.support import MULTI_CLUSTER, ROOT, STACKS, configured, run_main

FIXTURE = ROOT / "tests" / "fixtures" / "pko-v2.9.0"
SOURCE = {k: v.strip("`") for k, v in re.findall(r"^- (\w+): (\S+)$", (FIXTURE / "README.md").read_text(), re.M)}
"""Where the fixture comes from: repository, tag, commit, path and the file's git blob id."""
CITED = json.loads((FIXTURE / "cited-lines.json").read_text())
CRD_BYTES = gzip.decompress((FIXTURE / "pulumi.com_stacks.yaml.gz").read_bytes())
REPO = "https://github.com/example/aragora-secrets.git"
S3 = "s3://aragora-state?region=us-east-1&awssdk=v2"
KMS = "awskms://alias/pulumi-state?region=us-east-1"
TOKEN = "ghp_" + "Zq7" * 12  # assembled, so the tree's secret scan sees no literal token
MODES = {
    "cloud": ("--org", "acme"),
    "https": ("--state", "https://pulumi.example.com", "--org", "acme"),
    "self-managed": ("--state", S3, "--secrets-provider", KMS),
    "per-stack": (
        "--state", " ".join(f"{s}=s3://state-{s}?region=us-east-1&awssdk=v2" for s in STACKS),
        "--secrets-provider", " ".join(f"{s}=awskms://alias/{s}?region=us-east-1" for s in STACKS),
    ),
}


@cache
def _crd() -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the 1.5 MB CRD in 0.2 s
    return yaml.load(CRD_BYTES, Loader=loader)  # noqa: S506 - a safe loader, C or Python


def _v1() -> dict:
    (version,) = [v for v in _crd()["spec"]["versions"] if v["name"] == "v1"]
    return version


def _closed(schema):
    """The schema as the API server's strict field validation reads it: an unknown field is an error,
    not silently pruned, except where the schema keeps unknown fields or has no properties (metadata)."""
    if isinstance(schema, dict):
        out = {k: _closed(v) for k, v in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


@cache
def _validator() -> jsonschema.Draft4Validator:
    # OpenAPI v3's schema object is JSON Schema draft 4 (plus x-kubernetes-* keywords the validator ignores).
    return jsonschema.Draft4Validator(_closed(_v1()["schema"]["openAPIV3Schema"]))


def _cel_rules(schema, found=None) -> list[str]:
    found = [] if found is None else found
    if isinstance(schema, dict):
        found += [r["rule"] for r in schema.get("x-kubernetes-validations", [])]
        for v in schema.values():
            _cel_rules(v, found)
    elif isinstance(schema, list):
        for v in schema:
            _cel_rules(v, found)
    return found


def _name_limit() -> int:
    """The CRD's one CEL rule (the API server evaluates it; jsonschema cannot): the Stack name's length."""
    rules = _cel_rules(_v1()["schema"]["openAPIV3Schema"])
    assert len(rules) == 1, f"the CRD has CEL rules this test does not evaluate: {rules}"
    match = re.fullmatch(r"size\(self\.metadata\.name\) <= (\d+)", rules[0])
    assert match, rules[0]
    return int(match[1])


def validate(doc: dict) -> None:
    _validator().validate(doc)
    if len(doc["metadata"]["name"]) > _name_limit():
        raise jsonschema.ValidationError(f"{doc['metadata']['name']}: longer than the CRD's {_name_limit()} characters")


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
    found = {}
    for mode, extra in MODES.items():
        out = tmp_path_factory.mktemp(mode)
        result = _run("--out", str(out), "--repo", REPO, *extra)
        assert result.returncode == 0, result.stderr
        found[mode] = _docs(out)
    return found


def _stacks(docs: list[dict], role: str) -> dict[str, dict]:
    """``{environment: Stack}`` of one role, the environment read from the Stack's own ``spec.stack``."""
    return {
        d["spec"]["stack"].rpartition("/")[2]: d for d in docs if d["kind"] == "Stack" and d["metadata"]["labels"][f"{PROJECT}/role"] == role
    }


# --- the fixture and validation -------------------------------------------------------------------------------


def test_the_crd_fixture_is_the_upstream_file_byte_for_byte():
    """git's blob id of the decompressed fixture is the blob at the tag: `git rev-parse v2.9.0:<path>` in the operator's repository."""
    blob = hashlib.sha1(b"blob %d\0" % len(CRD_BYTES) + CRD_BYTES).hexdigest()  # noqa: S324 - git's object id
    assert blob == SOURCE["blob"]
    assert SOURCE["path"] == "deploy/crds/pulumi.com_stacks.yaml" and SOURCE["tag"] == "v2.9.0"
    assert re.fullmatch(r"[0-9a-f]{40}", SOURCE["commit"])
    assert _crd()["metadata"]["name"] == "stacks.pulumi.com" and _v1()["served"] and _v1()["storage"]


@pytest.mark.parametrize("mode", MODES)
def test_every_stack_of_every_mode_is_valid_for_the_whole_v1_schema_and_its_name_rule(generated, mode):
    stacks_ = [d for d in generated[mode] if d["kind"] == "Stack"]
    assert len(stacks_) == 2 * len(STACKS)
    for doc in stacks_:
        validate(doc)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "resyncFrequencySecond"), 60),  # misspelt at the top
        (("spec", "updateTemplate", "spec", "expectNoChange"), True),  # misspelt where drift depends on it
        (("spec", "workspaceTemplate", "spec", "resources", "request"), {"cpu": "1"}),
        (("spec", "refresh"), "yes"),  # wrong type
        (("metadata", "name"), "x" * 43),  # the CEL rule
    ],
)
def test_validation_can_fail_on_a_misspelt_field_a_wrong_type_or_a_long_name(generated, path, value):
    doc = copy.deepcopy(_stacks(generated["cloud"], "drift")[STACKS[0]])
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_the_generator_checks_names_against_the_crds_own_limit():
    assert _name_limit() == operator.MAX_STACK_NAME


def _tree(tmp_path: Path) -> Path:
    """A copy of what `python -m stacktools.operator` reads: code, project and stack files, the CI workflows."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(".venv", ".git", "*.pyc", "policy", "tests", "docs", "bench", "examples", "plan-out"))
    return tree


def _new_environment(tree: Path, name: str) -> None:
    """A copy of the first stack file as environment ``name``, its separation claims made its own."""
    source = STACKS[0]
    text = (ROOT / f"Pulumi.{source}.yaml").read_text().replace(source, name)
    taken = {c.identity for s in STACKS for c in claims(from_stack_file(s))}
    path = tree / f"Pulumi.{name}.yaml"
    path.write_text(text)
    for claim in claims(from_stack_file(name, path)):
        if claim.identity in taken:  # e.g. an OIDC issuer id without the environment's name in it
            head, _, tail = claim.shown.rpartition("/")
            text = text.replace(claim.shown, f"{head}/{tail[::-1]}" if head else tail[::-1])
    path.write_text(text)


def test_a_stack_name_the_crd_would_refuse_is_refused_naming_its_file(tmp_path, monkeypatch):
    long_name = "e" * (operator.MAX_STACK_NAME - len(operator.drift_name("")) + 1)
    _new_environment(tmp_path, long_name)
    cfg = from_stack_file(long_name, tmp_path / f"Pulumi.{long_name}.yaml")
    monkeypatch.setattr(operator, "stacks", lambda: [*stacks(), cfg])  # as if the file were in the project
    result = _run("--out", str(tmp_path / "out"), "--repo", REPO, "--org", "acme")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"error: Pulumi.{long_name}.yaml: stack name") and str(operator.MAX_STACK_NAME) in result.stderr
    assert not (tmp_path / "out").exists()


# --- deploy and drift -----------------------------------------------------------------------------------------


def _drift_seconds(cfg) -> int:
    return {DriftCheck.HOURLY: 3600, DriftCheck.DAILY: 86400}[cfg.common.drift_check]


def check_deploy_and_drift(docs: list[dict], configs: dict) -> None:
    """The invariants of one generated set, against the stack files it came from (``{environment: StackConfig}``)."""
    deploy, drift = _stacks(docs, "deploy"), _stacks(docs, "drift")
    assert sorted(deploy) == sorted(drift) == sorted(configs)
    names = {d["metadata"]["name"]: env for env, d in deploy.items()}
    drift_names = {d["metadata"]["name"] for d in drift.values()}
    waves = {env: cfg.common.deploy_wave for env, cfg in configs.items()}
    for env, cfg in configs.items():
        up, check = deploy[env]["spec"], drift[env]["spec"]
        # Deploy: `pulumi up` only for a new commit of the branch; the poll never re-runs an unchanged commit.
        assert up.get("continueResyncOnCommitMatch") is False and not up.get("preview") and up.get("refresh") is False
        assert "updateTemplate" not in up
        # Drift: preview --refresh --expect-no-changes on the stack's own schedule, after its deploy.
        assert check["preview"] is check["refresh"] is check["continueResyncOnCommitMatch"] is True
        assert check["updateTemplate"] == {"spec": {"expectNoChanges": True}}
        assert check["resyncFrequencySeconds"] == _drift_seconds(cfg) >= 60
        assert check["prerequisites"] == [{"name": deploy[env]["metadata"]["name"]}]  # no requirement: never forces an up
        # The same stack, identity and program; nothing destroys an environment.
        for key in ("stack", "serviceAccountName", "projectRepo", "branch", "fluxSource", "backend", "secretsProvider", "envRefs", "workspaceTemplate"):
            assert up.get(key) == check.get(key), key
        assert up["destroyOnFinalize"] is check["destroyOnFinalize"] is False
        # Waves: the deploy Stacks of the nearest earlier wave, never a drift Stack.
        earlier = [w for w in waves.values() if w < waves[env]]
        expected = sorted(e for e, w in waves.items() if earlier and w == max(earlier))
        got = up.get("prerequisites", [])
        assert sorted(names[p["name"]] for p in got) == expected
        assert not {p["name"] for p in got} & drift_names


def test_each_stack_file_gets_a_deploy_stack_and_a_drift_stack(generated):
    for docs in generated.values():
        check_deploy_and_drift(docs, {s: from_stack_file(s) for s in STACKS})


def test_a_freshness_requirement_sits_only_on_a_stack_that_runs_for_new_commits(generated):
    """The operator re-runs a stale prerequisite whenever its dependent wants to run: a dependent that
    resynced on a schedule would drag its prerequisite along. Only commit-driven deploy Stacks carry one."""
    for docs in generated.values():
        for doc in (d for d in docs if d["kind"] == "Stack"):
            spec = doc["spec"]
            if any(p.get("requirement", {}).get("succeededWithinDuration") for p in spec.get("prerequisites", [])):
                assert spec["continueResyncOnCommitMatch"] is False and not spec.get("preview"), doc["metadata"]["name"]


def test_a_new_environment_is_one_stack_file_and_the_generator_follows(tmp_path):
    tree = _tree(tmp_path)
    _new_environment(tree, "qa")
    result = _run("--out", str(tmp_path / "out"), "--repo", REPO, "--org", "acme", cwd=tree)
    assert result.returncode == 0, result.stderr
    docs = _docs(tmp_path / "out")
    environments = [*STACKS, "qa"]
    check_deploy_and_drift(docs, {e: from_stack_file(e, tree / f"Pulumi.{e}.yaml") for e in environments})
    for doc in (d for d in docs if d["kind"] == "Stack"):
        validate(doc)


def test_workspaces_are_sized_as_the_operators_example_and_guaranteed(generated):
    def quantity(value: str) -> float:
        units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "": 1}
        number, unit = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi|)", str(value)).groups()
        return float(number) * units[unit]

    for doc in (d for d in generated["cloud"] if d["kind"] == "Stack"):
        resources = doc["spec"]["workspaceTemplate"]["spec"]["resources"]
        assert resources["requests"] == resources["limits"]  # Guaranteed QoS: not evicted mid-update
        assert quantity(resources["requests"]["memory"]) >= quantity("512Mi")
        assert quantity(resources["requests"]["cpu"]) >= 1


# --- state, identity, credentials -----------------------------------------------------------------------------


def test_pulumi_cloud_stacks_are_org_slash_stack_and_read_the_token_from_a_secret(generated):
    for mode in ("cloud", "https"):
        for env, doc in _stacks(generated[mode], "deploy").items():
            spec = doc["spec"]
            assert spec["stack"] == f"acme/{env}"
            assert spec["envRefs"] == {"PULUMI_ACCESS_TOKEN": {"type": "Secret", "secret": {"name": "pulumi-api-secret", "key": "accessToken"}}}
            assert spec.get("backend") == dict(zip(MODES[mode][::2], MODES[mode][1::2], strict=True)).get("--state")


def test_self_managed_state_reaches_the_manifest_intact_and_needs_no_token(generated):
    for env, doc in _stacks(generated["self-managed"], "deploy").items():
        spec = doc["spec"]
        assert (spec["stack"], spec["backend"], spec["secretsProvider"]) == (env, S3, KMS)
        assert "envRefs" not in spec and "accessTokenSecret" not in spec
    for env, doc in _stacks(generated["per-stack"], "drift").items():
        assert doc["spec"]["backend"] == f"s3://state-{env}?region=us-east-1&awssdk=v2"
        assert doc["spec"]["secretsProvider"] == f"awskms://alias/{env}?region=us-east-1"


def test_each_workspace_runs_as_its_own_service_account_carrying_the_stacks_deployer_identity(generated):
    docs = generated["cloud"]
    accounts = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in docs if d["kind"] == "ServiceAccount"}
    by_stack = _stacks(docs, "deploy")
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


def test_no_static_credential_in_any_manifest(generated):
    for docs in generated.values():
        text = yaml.safe_dump_all(docs)
        for word in ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "VAULT_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "literal"):
            assert word not in text


def test_a_token_in_the_repository_url_never_reaches_a_manifest_and_a_note_says_so(tmp_path):
    out = tmp_path / "out"
    result = _run("--out", str(out), "--repo", f"https://x-access-token:{TOKEN}@github.com/example/aragora-secrets.git", "--org", "acme")
    assert result.returncode == 0, result.stderr
    assert "removed the credentials" in result.stderr and TOKEN not in result.stderr + result.stdout
    assert all(TOKEN not in p.read_text() for p in out.iterdir())
    assert {d["spec"]["projectRepo"] for d in _docs(out) if d["kind"] == "Stack"} == {REPO}


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
        (("--state", f"https://user:{TOKEN}@pulumi.example.com", "--org", "acme"), "--state"),  # userinfo: refused
        (("--state", "s3://b", "--secrets-provider", f"hashivault://{TOKEN}@vault/k"), "--secrets-provider"),
        (("--state", "nosuchstack=s3://b", "--secrets-provider", "awskms://k"), "--state"),
        (("--state", f"{STACKS[0]}=s3://b", "--secrets-provider", "awskms://k"), "--state"),  # the other stacks have none
        ((), "--org"),  # Pulumi Cloud without an organization
        (("--org", "acme corp"), "--org"),
        (("--state", " ", "--org", "acme"), "--state"),
        (("--state", "s3://b\x00", "--secrets-provider", "awskms://k"), "--state"),
        (("--repo", "/srv/git/aragora"), "--repo"),
        (("--repo", f"https://github.com/x/y.git?access_token={TOKEN}"), "--repo"),
        (("--repo", "https://github.com/x/y\x00.git"), "--repo"),
        (("--repo", f"user:{TOKEN}@host:aragora.git"), "--repo"),
        (("--repo", "https://x/y.git", "--branch", "main;rm -rf"), "--branch"),
        (("--repo", "https://x/y.git", "--branch", "release"), "--branch"),  # not a branch CI previews
        (("--namespace", "Not_A_Label"), "--namespace"),
        (("--flux-source", "HelmRepository/x"), "--flux-source"),
    ],
)
def test_a_bad_option_is_one_line_naming_it_nothing_is_written_and_no_token_is_repeated(tmp_path, args, key):
    if "--repo" not in args and "--flux-source" not in args:
        args = ("--repo", REPO, *args)
    result = _run("--out", str(tmp_path / "out"), *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {key}") and result.stderr.count("\n") == 1, result.stderr
    assert TOKEN not in result.stderr
    assert not (tmp_path / "out").exists()


def _make(*args: str) -> subprocess.CompletedProcess:
    make = shutil.which("make")
    assert make, "make is missing"
    return subprocess.run([make, "-s", "operator", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_make_operator_passes_urls_with_ampersands_intact_and_strips_a_token(tmp_path):
    out = tmp_path / "out"
    branch = operator.previewed_branches()[0]
    result = _make(f"OUT={out}", f"REPO=https://{TOKEN}@github.com/example/aragora-secrets.git", f"BRANCH={branch}", f"STATE={S3}", f"SECRETS_PROVIDER={KMS}")
    assert result.returncode == 0, result.stderr
    docs = [d for d in _docs(out) if d["kind"] == "Stack"]
    assert {(d["spec"]["backend"], d["spec"]["secretsProvider"], d["spec"]["projectRepo"], d["spec"]["branch"]) for d in docs} == {(S3, KMS, REPO, branch)}
    assert all(TOKEN not in p.read_text() for p in out.iterdir()) and TOKEN not in result.stderr + result.stdout


def test_make_operator_exits_2_with_the_tools_one_line(tmp_path):
    result = _make(f"OUT={tmp_path / 'out'}", f"REPO={REPO}", f"STATE=https://u:{TOKEN}@pulumi.example.com", "ORG=acme")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --state:") and TOKEN not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_stack_without_its_deployer_identity_is_refused_naming_the_key_and_file(tmp_path):
    tree = _tree(tmp_path)
    stack = STACKS[0]
    cfg = from_stack_file(stack)
    key = capability(load(cfg.backend.name), WORKSPACE)(cfg.backend).identity_key
    path = tree / f"Pulumi.{stack}.yaml"
    path.write_text("\n".join(line for line in path.read_text().splitlines() if f":{key}:" not in line) + "\n")
    result = _run("--out", str(tmp_path / "out"), "--repo", REPO, "--org", "acme", cwd=tree)
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
    result = _run("--out", str(tmp_path), "--flux-source", "GitRepository/aragora-secrets", "--org", "acme")
    assert result.returncode == 0, result.stderr
    assert "note: --flux-source" in result.stderr
    for doc in (d for d in _docs(tmp_path) if d["kind"] == "Stack"):
        assert doc["spec"]["fluxSource"]["sourceRef"] == {
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "name": "aragora-secrets",
        }
        assert "projectRepo" not in doc["spec"]
        validate(doc)


def test_the_generator_reads_the_same_stack_list_as_ci():
    assert [c.environment for c in stacks()] == json.loads(run_main(matrix.main, []).stdout)
    assert operator.names("x") == f"{PROJECT}-x"


# --- the policy pack: CI previews the branch the operator follows ---------------------------------------------


def test_deploy_stacks_follow_only_a_branch_whose_pull_requests_ci_previews_with_the_policy_pack(generated):
    branches = operator.previewed_branches()
    assert {d["spec"]["branch"] for d in generated["cloud"] if d["kind"] == "Stack"} <= set(branches)
    workflows = ROOT / ".github" / "workflows"
    preview = yaml.safe_load((workflows / "preview.yml").read_text())
    calls = [j for j in preview["jobs"].values() if j.get("with", {}).get("mode") == "preview"]
    assert calls and all(j["uses"] == "./.github/workflows/pulumi-stack.yml" for j in calls)
    steps = yaml.safe_load((workflows / "pulumi-stack.yml").read_text())["jobs"]["preview"]["steps"]
    (run,) = [s for s in steps if s.get("with", {}).get("command") == "preview"]
    assert run["with"]["policyPacks"] == "policy" and (ROOT / "policy" / "PulumiPolicy.yaml").is_file()


# --- the alerts, by promtool ----------------------------------------------------------------------------------

PROMTOOL = shutil.which("promtool")


def _rule(docs: list[dict]) -> dict:
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    return rule


def _promtool(tmp_path: Path, rule: dict, tests: list[dict]) -> subprocess.CompletedProcess:
    assert PROMTOOL, "promtool missing: `make tools` installs Debian's prometheus package"
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests}))
    return subprocess.run([PROMTOOL, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=120)


def _expected(rule: dict, alert: str, labels: dict[str, str]) -> dict:
    """An alert as promtool reports it: its labels, and its annotations with ``{{ $labels.x }}`` filled in."""
    (spec,) = [r for r in rule["spec"]["groups"][0]["rules"] if r["alert"] == alert and r["labels"].get("name", labels["name"]) == labels["name"]]
    fill = re.compile(r"\{\{ \$labels\.(\w+) \}\}")
    return {
        "exp_labels": {**spec["labels"], **labels},
        "exp_annotations": {k: fill.sub(lambda m: labels[m[1]], v) for k, v in spec["annotations"].items()},
    }


def _series(name: str, value: str, namespace: str, exported: bool) -> dict:
    """``stacks_failing`` as scraped: through a ServiceMonitor (no honorLabels) the Stack's namespace is ``exported_namespace``."""
    labels = f'exported_namespace="{namespace}", namespace="pulumi-kubernetes-operator"' if exported else f'namespace="{namespace}"'
    return {"series": f'stacks_failing{{job="pulumi-kubernetes-operator", name="{name}", {labels}}}', "values": value}


@pytest.mark.parametrize("exported", [True, False], ids=["servicemonitor", "honor-labels"])
def test_drift_and_a_failing_deploy_page_and_a_healthy_operator_is_quiet(generated, tmp_path, exported):
    docs = generated["cloud"]
    rule = _rule(docs)
    (namespace,) = [d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"]
    drift, deploy = _stacks(docs, "drift"), _stacks(docs, "deploy")
    env = next(iter(drift))
    drifted, broken = drift[env]["metadata"]["name"], deploy[env]["metadata"]["name"]
    healthy = [_series(d["metadata"]["name"], "0x120", namespace, exported) for d in [*drift.values(), *deploy.values()]]
    others = [s for s in healthy if f'name="{drifted}"' not in s["series"] and f'name="{broken}"' not in s["series"]]
    series_labels = {"exported_namespace": namespace, "namespace": "pulumi-kubernetes-operator"} if exported else {"namespace": namespace}
    tests = [
        {  # drift: the drift Stack fails and stays failed; its deploy is fine
            "interval": "1m",
            "input_series": [*others, _series(drifted, "0x10 1x110", namespace, exported), _series(broken, "0x120", namespace, exported)],
            "alert_rule_test": [
                {"eval_time": "20m", "alertname": "AragoraSecretsDriftDetected", "exp_alerts": []},  # not yet: for 15m
                {"eval_time": "30m", "alertname": "AragoraSecretsDriftDetected", "exp_alerts": [
                    _expected(rule, "AragoraSecretsDriftDetected", {"job": "pulumi-kubernetes-operator", "name": drifted, **series_labels}),
                ]},
                {"eval_time": "30m", "alertname": "AragoraSecretsDeployFailing", "exp_alerts": []},
            ],
        },
        {  # a failing up pages on its own
            "interval": "1m",
            "input_series": [*others, _series(drifted, "0x120", namespace, exported), _series(broken, "1x120", namespace, exported)],
            "alert_rule_test": [
                {"eval_time": "30m", "alertname": "AragoraSecretsDeployFailing", "exp_alerts": [
                    _expected(rule, "AragoraSecretsDeployFailing", {"job": "pulumi-kubernetes-operator", "name": broken, **series_labels}),
                ]},
                {"eval_time": "30m", "alertname": "AragoraSecretsDriftDetected", "exp_alerts": []},
            ],
        },
        {  # all healthy: nothing fires, the silence rule included
            "interval": "1m",
            "input_series": healthy,
            "alert_rule_test": [
                {"eval_time": "119m", "alertname": a, "exp_alerts": []}
                for a in ("AragoraSecretsDriftDetected", "AragoraSecretsDeployFailing", "AragoraSecretsDriftCheckSilent")
            ],
        },
        {  # a Stack of another namespace with the same name is not ours
            "interval": "1m",
            "input_series": [*healthy, _series(drifted, "1x120", "elsewhere", exported)],
            "alert_rule_test": [{"eval_time": "60m", "alertname": "AragoraSecretsDriftDetected", "exp_alerts": []}],
        },
    ]
    result = _promtool(tmp_path, rule, tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_drift_check_that_stops_reporting_pages_after_its_schedule(generated, tmp_path):
    docs = generated["cloud"]
    rule = _rule(docs)
    drift = _stacks(docs, "drift")
    tests = []
    for env, doc in drift.items():
        name, hours = doc["metadata"]["name"], doc["spec"]["resyncFrequencySeconds"] // 3600
        present = [_series(d["metadata"]["name"], f"0x{60 * (hours + 3)}", "ns", True) for e, d in drift.items() if e != env]
        tests.append({
            "interval": "1m",
            "input_series": present,  # this one never reported (e.g. the operator restarted and it stalled)
            "alert_rule_test": [
                {"eval_time": f"{60 * hours - 5}m", "alertname": "AragoraSecretsDriftCheckSilent", "exp_alerts": []},
                {"eval_time": f"{60 * (hours + 2)}m", "alertname": "AragoraSecretsDriftCheckSilent",
                 "exp_alerts": [_expected(rule, "AragoraSecretsDriftCheckSilent", {"name": name})]},
            ],
        })
    result = _promtool(tmp_path, rule, tests)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the docs' citations --------------------------------------------------------------------------------------

CITATION = re.compile(r"`((?:operator|agent|deploy|examples)/[\w./-]+):(\d+)(?:-(\d+))?`")


def test_every_citation_in_the_operator_doc_is_a_line_of_the_tag_kept_in_the_fixture():
    """Each `path:line` docs/operator.md cites has its line recorded from the tag (cited-lines.json, by
    tests/fixtures/pko-v2.9.0/README.md's command); the CRD's lines are checked against the fixture itself."""
    doc = (ROOT / "docs" / "operator.md").read_text()
    cited = CITATION.findall(doc)
    assert len(cited) >= 10
    crd_lines = CRD_BYTES.decode().splitlines()
    for path, first, last in cited:
        for line in range(int(first), int(last or first) + 1):
            key = f"{path}:{line}"
            assert key in CITED, f"docs/operator.md cites {key}, not recorded in {FIXTURE.name}/cited-lines.json"
            if path == SOURCE["path"]:
                assert crd_lines[line - 1] == CITED[key]
    for needle in ("// ExpectNoChanges:  ptr.To(o.Spec.ExpectNoRefreshChanges),", "// TODO:PolicyPack", "optpreview.ExpectNoChanges()"):
        assert needle in "\n".join(CITED.values()), needle


def test_a_stack_with_several_clusters_names_every_context_its_kubeconfig_secret_must_hold(tmp_path):
    # The multi-region example as the tree's production stack (with the deployer identity the operator needs).
    example = next(iter(MULTI_CLUSTER.values()))
    stack = stack_of(example)
    tree = _tree(tmp_path)
    deployer = f"  {PROJECT}:awsDeployerRoleArn: {configured(stack, 'awsDeployerRoleArn')}\n"
    (tree / f"Pulumi.{stack}.yaml").write_text(example.read_text().replace("config:\n", "config:\n" + deployer, 1))
    contexts = [c.common.kube_context for c in from_stack_file(stack, example).clusters]
    assert len(contexts) > 1
    result = _run("--out", str(tmp_path / "out"), "--repo", REPO, "--org", "acme", cwd=tree)
    assert result.returncode == 0, result.stderr
    ours = [d for d in _docs(tmp_path / "out") if d["kind"] == "Stack" and d["metadata"]["name"].startswith(operator.names(stack))]
    assert len(ours) == 2
    for doc in ours:
        assert doc["metadata"]["annotations"][operator.KUBE_CONTEXTS] == ",".join(contexts)
        validate(doc)
    assert f"{operator.names(stack)}-kubeconfig must hold a context for every cluster of stack {stack}: {', '.join(contexts)}" in result.stderr
    # A single-cluster stack's Stacks carry no such annotation.
    others = [d for d in _docs(tmp_path / "out") if d["kind"] == "Stack" and d not in ours]
    assert others and not any("annotations" in d["metadata"] for d in others)

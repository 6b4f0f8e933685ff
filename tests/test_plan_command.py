"""The offline plan command and the language-host run path, as separate processes."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from components.eso_api import EXTERNAL_SECRET_TYPE
from infra import stackfiles
from stacktools import matrix, recorder
from stacktools import plan as plan_cmd
from tests.support import ROOT, STACKS, configured, render, run_main


def _run(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env or os.environ.copy()
    )


def test_program_runs_as_the_language_host_runs_it(tmp_path):
    """runpy on `main: infra/` with cwd = project root and no sys.path entry for it: the
    editable install (requirements.txt) is what makes `infra` importable, as under the CLI.

    The config arrives the way the language host passes it (PULUMI_CONFIG), and
    the mocks here are independent of the project's own.
    """
    script = tmp_path / "host.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, os, runpy, sys
            import pulumi
            from pulumi.runtime.sync_await import _sync_await

            assert not any(p in (os.getcwd(), "", ".") for p in sys.path), sys.path
            seen = []

            class Mocks(pulumi.runtime.Mocks):
                def new_resource(self, args):
                    seen.append(args.typ)
                    return args.name + "-id", {**args.inputs, "arn": "arn:aws:iam::111122223333:x/" + args.name,
                                               "keyId": "k", "name": args.inputs.get("name", args.name)}
                def call(self, args):
                    return {}

            pulumi.runtime.set_mocks(Mocks(), project="aragora-secrets", stack=os.environ["STACK"], preview=False)
            pulumi.runtime.settings.set_root_resource(None)
            _sync_await(pulumi.runtime.run_in_stack(lambda: runpy.run_path("infra", run_name="__main__")))
            print(json.dumps(seen))
            """
        )
    )
    env = os.environ.copy()
    env["PULUMI_CONFIG"] = json.dumps(stackfiles.stack_config(STACKS[0]))
    env.pop("PYTHONPATH", None)
    env["STACK"] = STACKS[0]
    result = _run("-P", str(script), env=env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert "kubernetes:helm.sh/v3:Release" in seen
    assert "aws:iam/role:Role" in seen
    assert seen.count(EXTERNAL_SECRET_TYPE) == 3


@pytest.mark.parametrize("stack", STACKS)
def test_plan_prints_the_tree_and_writes_every_file(tmp_path, stack):
    out = tmp_path / "d"
    result = run_main(plan_cmd.main, ["--stack", stack, "--out", str(out)])
    assert result.returncode == 0, result.stderr
    assert "aragora:eso:ExternalSecretsOperator" in result.stdout
    assert "kubernetes:helm.sh/v3:Release" in result.stdout
    assert "to create" in result.stdout

    resources = json.loads((out / "resources.json").read_text())
    for r in resources:
        assert set(r) >= {"urn", "type", "name", "parent", "inputs", "protect", "retain_on_delete", "depends_on"}
    urns = {r["urn"] for r in resources}
    assert all(r["parent"] is None or r["parent"] in urns for r in resources)
    assert all(set(r["depends_on"]) <= urns for r in resources)

    plan = render(stack)
    manifests = {p.name: yaml.safe_load(p.read_text()) for p in (out / "manifests").iterdir()}
    kinds = sorted(m.get("kind", "helm") for m in manifests.values())
    alerts = ["PrometheusRule"] if plan.setting("prometheusOperator") == "true" else []
    assert kinds == sorted(["ClusterSecretStore", "ExternalSecret", "ExternalSecret", "ExternalSecret", "Namespace", "Namespace", "helm", *alerts])
    assert manifests["helm-release-external-secrets.yaml"]["values"]["replicaCount"] == int(plan.setting("esoReplicas"))

    policies = {p.name for p in (out / "policies").iterdir()}
    if plan.setting("backend") == "aws":
        assert policies == {f"aragora-{stack}-eso-read.json", f"aragora-{stack}-eso-trust.json"}
    assert json.loads((out / "outputs.json").read_text()) == plan.outputs


def test_two_runs_of_the_plan_write_the_same_bytes_and_exit_without_a_traceback(tmp_path):
    # Two interpreters (this one, already busy with other tests, and a fresh one): nothing may depend
    # on hash seeds, dict order, earlier renders or the clock, and the mock runtime's event loops must
    # close cleanly at exit ("Exception ignored" otherwise).
    here = run_main(plan_cmd.main, ["--stack", STACKS[0], "--out", str(tmp_path / "a")])
    fresh = _run("-m", "stacktools.plan", "--stack", STACKS[0], "--out", str(tmp_path / "b"))
    for result in (here, fresh):
        assert result.returncode == 0
        assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    for f in (tmp_path / "a").rglob("*"):
        if f.is_file() and f.name != recorder.KEY_FILE:  # random by design: the fingerprint key
            assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes(), f


def test_bad_config_exits_2_with_one_line_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    original = (ROOT / f"Pulumi.{STACKS[0]}.yaml").read_text()
    assert "aragora-secrets:refreshInterval: " in original
    bad.write_text(re.sub(r"aragora-secrets:refreshInterval: .*", "aragora-secrets:refreshInterval: 10s", original))
    result = _run("-m", "stacktools.plan", "--stack", STACKS[0], "--config-file", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "aragora-secrets:refreshInterval" in result.stderr and "'10s'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_secure_values_in_stack_config_are_refused(tmp_path):
    bad = tmp_path / "secure.yaml"
    bad.write_text("config:\n  aragora-secrets:kubeContext:\n    secure: AAAB\n")
    result = _run("-m", "stacktools.plan", "--stack", STACKS[0], "--config-file", str(bad))
    assert result.returncode == 2
    assert "aragora-secrets:kubeContext" in result.stderr and "secure" in result.stderr


def test_stack_file_that_is_not_a_mapping_exits_2(tmp_path):
    bad = tmp_path / "list.yaml"
    bad.write_text("- just\n- a list\n")
    result = _run("-m", "stacktools.plan", "--stack", STACKS[0], "--config-file", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_no_module_outside_the_policy_pack_patches_sys_path():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in (".venv", "policy", ".git") or "site-packages" in rel.parts:
            continue
        text = path.read_text()
        if re.search(r"sys\.path\.(insert|append|extend)|sys\.path\s*[+]?=", text):
            offenders.append(str(rel))
    assert offenders == []


def test_the_program_package_never_imports_the_tooling():
    imported = set()
    for path in (ROOT / "infra").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert "infra" in imported and "stacktools" not in imported and "tests" not in imported


def test_every_event_loop_the_mock_runtime_opened_is_closed_after_a_render(monkeypatch):
    """Unclosed per-thread loops were collected at exit and sometimes printed a traceback."""
    seen: list = []
    real_close = recorder._close_loops

    def spy(loops):
        seen.extend(loops)
        real_close(loops)

    monkeypatch.setattr(recorder, "_close_loops", spy)
    recorder.render(STACKS[0])
    assert seen, "the recorder tracked no loop"
    assert all(loop.is_closed() for loop in seen)
    recorder.render(STACKS[-1])  # a fresh main loop serves the next render


def test_without_a_stack_the_plan_renders_the_first_stack_ci_deploys_not_the_first_by_name():
    first = matrix.stacks()[0].environment
    waves = {s: int(configured(s, "deployWave")) for s in STACKS}
    assert waves[first] == min(waves.values())
    result = run_main(plan_cmd.main, [])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"Previewing update ({first}) — offline, provider calls mocked"


def test_an_unknown_stack_is_one_line_listing_the_stacks_that_exist():
    result = run_main(plan_cmd.main, ["--stack", "prodution"])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "'prodution'" in line and f"(allowed: {', '.join(STACKS)})" in line

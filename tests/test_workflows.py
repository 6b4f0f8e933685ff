"""The GitHub Actions workflows: real linters offline, pinned actions, and nothing they call is missing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stacktools import matrix
from tests.support import ROOT, STACKS, render, run_main

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / ".github/actions").glob("*/action.yml"))
SCRIPTS = sorted((ROOT / ".github/scripts").glob("*.sh"))
BIN = Path(sys.executable).parent
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def _tool(name: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    return subprocess.run([str(BIN / name), *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def _matrix(*args: str):
    """CI's ``python -m stacktools.matrix`` (its main, in this process)."""
    return run_main(matrix.main, list(args))


def _load(path: Path) -> dict:
    # YAML 1.1 reads the key `on` as True; GitHub reads it as "on".
    doc = yaml.safe_load(path.read_text())
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def test_there_are_preview_deploy_and_drift_workflows():
    assert {p.stem for p in WORKFLOWS} == {"preview", "deploy", "drift", "pulumi-stack"}


def test_actionlint_passes_with_shellcheck():
    assert (BIN / "shellcheck").exists()
    result = _tool("actionlint", "-no-color")
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_offline_finds_nothing_of_medium_severity_or_above():
    result = _tool("zizmor", "--offline", "--min-severity", "medium", "--format", "plain", ".github")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout, result.stdout


def test_workflows_match_the_github_workflow_schema():
    result = _tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert ACTIONS
    result = _tool("check-jsonschema", "--builtin-schema", "vendor.github-actions", *map(str, ACTIONS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_scripts_pass_shellcheck_and_are_executable():
    assert SCRIPTS
    result = _tool("shellcheck", *map(str, SCRIPTS))
    assert result.returncode == 0, result.stdout
    for script in SCRIPTS:
        assert os.access(script, os.X_OK), script


def _steps():
    for path in WORKFLOWS:
        for job_id, job in _load(path)["jobs"].items():
            for step in job.get("steps", []):
                yield path, job_id, step
    for path in ACTIONS:
        for step in _load(path)["runs"]["steps"]:
            yield path, "composite", step


def test_every_third_party_action_is_pinned_to_a_full_sha_with_its_version():
    lines = [
        line.split("uses:", 1)[1].strip()
        for path in WORKFLOWS + ACTIONS
        for line in path.read_text().splitlines()
        if "uses:" in line and not line.strip().startswith("#")
    ]
    external = [u for u in lines if not u.startswith("./")]
    assert external
    for uses in external:
        assert SHA_PIN.match(uses), uses


def test_every_job_has_a_timeout_and_minimal_permissions():
    for path in WORKFLOWS:
        doc = _load(path)
        assert doc.get("permissions") == {}, path.name  # nothing by default; jobs ask
        for job_id, job in doc["jobs"].items():
            assert "permissions" in job, (path.name, job_id)
            if "uses" not in job:  # a reusable-workflow call runs the called job's timeout
                assert 0 < job["timeout-minutes"] <= 60, (path.name, job_id)


def test_only_jobs_that_talk_to_a_cloud_get_an_oidc_token():
    preview = _load(ROOT / ".github/workflows/preview.yml")
    assert preview["jobs"]["offline-plan"]["permissions"] == {"contents": "read"}
    offline_text = yaml.safe_dump(preview["jobs"]["offline-plan"])
    assert "secrets." not in offline_text and "AWS_ROLE" not in offline_text


def test_no_workflow_names_an_environment_the_stack_files_define():
    for path in [*WORKFLOWS, *ACTIONS, *SCRIPTS]:
        text = path.read_text()
        for stack in STACKS:
            assert not re.search(rf"\b{re.escape(stack)}\b", text), (path.name, stack)


def test_deploy_runs_every_stack_one_at_a_time_in_deploy_order_in_its_own_environment():
    deploy = _load(ROOT / ".github/workflows/deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"] and "workflow_dispatch" in deploy["on"]
    up = deploy["jobs"]["up"]
    assert up["needs"] == "stacks"
    assert up["strategy"] == {"max-parallel": 1, "fail-fast": True, "matrix": {"stack": "${{ fromJSON(needs.stacks.outputs.stacks) }}"}}
    assert up["with"] == {"stack": "${{ matrix.stack }}", "mode": "up", "environment": "${{ matrix.stack }}"}
    jobs = _load(ROOT / ".github/workflows/pulumi-stack.yml")["jobs"]
    assert all(job["environment"] == "${{ inputs.environment }}" for job in jobs.values())
    # Deploys and drift checks of one stack share one queue and never cancel each other.
    for mode in ("up", "drift"):
        assert jobs[mode]["concurrency"] == {"group": "pulumi-${{ inputs.stack }}", "cancel-in-progress": False}


def test_the_stack_matrix_is_every_stack_file_in_deploy_wave_order():
    listed = json.loads(_matrix().stdout)
    assert sorted(listed) == sorted(STACKS)
    waves = [int(render(s).setting("deployWave")) for s in listed]
    assert waves == sorted(waves)


@pytest.mark.parametrize("hour", [0, matrix.DAILY_HOUR, 13])
def test_drift_checks_hourly_stacks_every_hour_and_daily_ones_once_a_day(hour):
    listed = json.loads(_matrix("--drift-hour", str(hour)).stdout)
    expected = [s for s in json.loads(_matrix().stdout)
                if render(s).setting("driftCheck") == "hourly" or hour == matrix.DAILY_HOUR]
    assert listed == expected


def test_the_matrix_refuses_a_stack_without_a_stack_file():
    result = _matrix("--stack", "no-such-stack")
    assert result.returncode == 2 and "no stack 'no-such-stack'" in result.stderr


def test_each_mode_job_gets_only_the_token_permissions_it_needs():
    jobs = _load(ROOT / ".github/workflows/pulumi-stack.yml")["jobs"]
    assert jobs["preview"]["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    assert jobs["up"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs["drift"]["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}


def test_drift_runs_hourly_from_the_matrix_without_mutating():
    drift = _load(ROOT / ".github/workflows/drift.yml")
    assert [s["cron"] for s in drift["on"]["schedule"]] == ["17 * * * *"]
    assert "--drift-hour" in drift["jobs"]["stacks"]["steps"][-1]["run"]
    assert drift["jobs"]["drift"]["with"]["mode"] == "drift"
    assert drift["jobs"]["drift"]["with"]["environment"] == "${{ matrix.stack }}-preview"
    script = (ROOT / ".github/scripts/drift-check.sh").read_text()
    assert "pulumi refresh --preview-only --expect-no-changes" in script
    assert "gh issue create" in script and "gh issue comment" in script and "gh issue close" in script


def test_preview_runs_pulumi_preview_with_the_policy_pack_and_pr_comment():
    steps = {s.get("name"): s for s in _load(ROOT / ".github/workflows/pulumi-stack.yml")["jobs"]["preview"]["steps"]}
    preview = steps["Pulumi preview"]["with"]
    assert preview["command"] == "preview" and preview["comment-on-pr"] is True and preview["diff"] is True
    assert preview["policyPacks"] == "policy" and (ROOT / "policy/PulumiPolicy.yaml").exists()


def _commands() -> list[tuple[str, str]]:
    texts = [(p.name, p.read_text()) for p in SCRIPTS]
    texts += [(path.name, step["run"]) for path, _, step in _steps() if "run" in step]
    found = []
    for name, text in texts:
        for line in text.splitlines():
            line = line.split("#", 1)[0]
            for m in re.finditer(r"(?:^|[\s;&|(])make((?:\s+[A-Za-z][\w-]*)+)", line):
                found += [(name, f"make {t}") for t in m.group(1).split() if "=" not in t]
            # `python -m x`, or the scripts' `"$py" -m x` (the venv's python)
            for m in re.finditer(r"(?:python3?|\"\$py\")\s+-m\s+([\w.]+)", line):
                found.append((name, f"python -m {m.group(1)}"))
            for m in re.finditer(r"(\.github/scripts/[\w.-]+)", line):
                found.append((name, m.group(1)))
    return found


def test_every_command_a_workflow_runs_exists_in_the_repo():
    commands = _commands()
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", (ROOT / "Makefile").read_text(), flags=re.M))
    assert ("action.yml", "make deps") in commands and any("stacktools.plan" in c for _, c in commands)
    for source, command in commands:
        if command.startswith("make "):
            assert command.removeprefix("make ") in targets, (source, command)
        elif command.startswith("python -m "):
            module = command.removeprefix("python -m ")
            assert (ROOT / (module.replace(".", "/") + ".py")).exists(), (source, command)
        else:
            assert (ROOT / command).exists(), (source, command)


@pytest.mark.parametrize("doc", ["docs/ci.md"])
def test_ci_setup_is_documented(doc):
    text = (ROOT / doc).read_text()
    for needle in ("PULUMI_ACCESS_TOKEN", "AWS_ROLE_ARN", "deployWave", "driftCheck", "required reviewers"):
        assert needle in text, (doc, needle)


def test_the_pulumi_token_is_only_in_the_env_of_steps_that_run_pulumi():
    for path in WORKFLOWS:
        doc = _load(path)
        assert "PULUMI_ACCESS_TOKEN" not in yaml.safe_dump(doc.get("env", {})), path.name
        assert "PULUMI_ACCESS_TOKEN" not in yaml.safe_dump(doc["on"]), path.name  # never passed in from a caller
        for job_id, job in doc["jobs"].items():
            assert "PULUMI_ACCESS_TOKEN" not in yaml.safe_dump(job.get("env", {})), (path.name, job_id)
            assert "PULUMI_ACCESS_TOKEN" not in yaml.safe_dump(job.get("secrets", {})), (path.name, job_id)
    holders = [(p.name, s.get("name")) for p, _, s in _steps() if "PULUMI_ACCESS_TOKEN" in yaml.safe_dump(s.get("env", {}))]
    assert sorted(holders) == [("pulumi-stack.yml", "Drift check (non-mutating)"), ("pulumi-stack.yml", "Pulumi preview"), ("pulumi-stack.yml", "Pulumi up")]


def test_previews_and_drift_checks_run_in_the_read_only_preview_environments():
    preview = _load(ROOT / ".github/workflows/preview.yml")["jobs"]["preview"]["with"]
    drift = _load(ROOT / ".github/workflows/drift.yml")["jobs"]["drift"]["with"]
    assert preview["environment"] == drift["environment"] == "${{ matrix.stack }}-preview"
    assert _load(ROOT / ".github/workflows/deploy.yml")["jobs"]["up"]["with"]["environment"] == "${{ matrix.stack }}"

"""No secret value in the repository, the plan output or the stack outputs."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from functools import cache
from pathlib import Path
from unittest import mock

import pytest

from infra.catalog import CATALOG
from stacktools import plan as plan_cmd
from tests.support import PLANS, ROOT, STACKS, run_main

HOOK = [sys.executable, "-m", "detect_secrets.pre_commit_hook", "--baseline", str(ROOT / ".secrets.baseline")]


@cache
def _tracked_files() -> list[str]:
    if (ROOT / ".git").exists():
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)  # noqa: S607 - git from PATH
        return [f for f in out.stdout.splitlines() if (ROOT / f).is_file()]
    skip = {".venv", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
    return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.parts)]


SCAN_PARTS = 4
"""The tree's scan runs as this many hook runs (every tracked file in exactly one), so xdist workers share it:
one run over the whole tree was the suite's slowest test (~6 s CPU, ~10 s on a busy machine)."""


def _scan_part(part: int) -> list[str]:
    return _tracked_files()[part::SCAN_PARTS]


def test_the_secret_scan_parts_cover_every_tracked_file_once():
    files = _tracked_files()
    parts = [_scan_part(i) for i in range(SCAN_PARTS)]
    assert sorted(f for part in parts for f in part) == sorted(files) and all(parts)
    assert f"Pulumi.{STACKS[0]}.yaml" in files and "infra/config.py" in files


@pytest.mark.parametrize("part", range(SCAN_PARTS))
def test_secret_scanner_finds_nothing_in_the_tree(part):
    files = _scan_part(part)
    result = subprocess.run([*HOOK, *files], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_secret_scanner_does_catch_a_planted_credential(tmp_path):
    """Proves the scan above can fail: the same hook and baseline flag a real-looking key."""
    planted = tmp_path / "Pulumi.leak.yaml"
    # Assembled at run time so this source file itself stays clean for the scan above.
    access_key_id = "AKIA" + "IOSFODNN7" + "EXAMPLF"
    planted.write_text(
        "config:\n"
        f"  aragora-secrets:kubeconfig: {access_key_id}\n"
        f"  aws:secretAccessKey: {secrets.token_urlsafe(30)}\n"
        "  openai: sk-proj-" + "Ab3dE" * 10 + "T3BlbkFJ" + "xY9zQ" * 4 + "\n"
    )
    # cwd = the project: the baseline names the Vault plugin by its path there.
    result = subprocess.run([*HOOK, str(planted)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "AWS Access Key" in result.stdout or "Base64 High Entropy" in result.stdout


def test_secret_scanner_catches_a_vault_token_the_stock_detectors_miss(tmp_path):
    planted = tmp_path / "Pulumi.leak.yaml"
    planted.write_text("config:\n  vault:token: hvs." + "CAESIJ" + "x" * 24 + "\n")  # low entropy, like many real ones
    result = subprocess.run([*HOOK, str(planted)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Vault Token" in result.stdout, result.stdout


PLANTED = {
    "KUBECONFIG": "apiVersion: v1\nusers:\n- user:\n    token: planted-bearer-" + secrets.token_hex(16),
    "AWS_SECRET_ACCESS_KEY": "planted-aws-secret-" + secrets.token_hex(16),
    "AWS_SESSION_TOKEN": "planted-session-" + secrets.token_hex(12),
    "VAULT_TOKEN": "hvs.planted" + secrets.token_hex(12),
    "PULUMI_CONFIG_PASSPHRASE": "planted-pass-" + secrets.token_hex(12),
    "GOOGLE_OAUTH_ACCESS_TOKEN": "ya29.planted" + secrets.token_hex(12),
    # Every catalog value, as if an operator had exported it in the shell that runs the plan.
    **{e.env_var: f"planted-{e.slug}-" + secrets.token_hex(12) for e in CATALOG},
}

WEAKENING_ENV = {
    "PULUMI_K8S_DELETE_UNREACHABLE": "true",
    "PULUMI_K8S_SKIP_UPDATE_UNREACHABLE": "true",
    "PULUMI_K8S_UPSERT_EXISTING_OBJECTS": "true",
    "PULUMI_K8S_ENABLE_PATCH_FORCE": "true",
    "PULUMI_K8S_ENABLE_SECRET_MUTABLE": "true",
    "VAULT_SKIP_VERIFY": "true",
}


@pytest.fixture(scope="module")
def hostile_plan(tmp_path_factory):
    """One real plan run per shipped configuration with PLANTED and WEAKENING_ENV exported: (console output, --out dir).

    In this process (the plan command's own main): the program reads the environment while it runs,
    exactly as under ``python -m``, without a second interpreter's start-up. The --out directories
    are under pytest's basetemp, removed with it."""
    plans: dict[str, tuple[str, Path]] = {}

    def plan(name: str) -> tuple[str, Path]:
        if name not in plans:
            plans[name] = _plan_in_a_hostile_environment(name, tmp_path_factory.mktemp(f"hostile-env-{name}"))
        return plans[name]

    return plan


def _plan_in_a_hostile_environment(name: str, out: Path) -> tuple[str, Path]:
    stack, config_file = PLANS[name]
    args = ["--stack", stack, "--out", str(out)]
    if config_file:
        args += ["--config-file", str(config_file)]
    with mock.patch.dict(os.environ, {**PLANTED, **WEAKENING_ENV}):
        result = run_main(plan_cmd.main, args)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr, out


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_output_never_contains_a_value_from_the_environment(name, hostile_plan):
    console, out = hostile_plan(name)
    assert (out / "resources.json").exists() and (out / "outputs.json").exists()
    blob = "\n".join([console, *(p.read_text() for p in out.rglob("*") if p.is_file())])
    for variable, value in PLANTED.items():
        assert value not in blob, f"{variable} leaked into the plan of {name}"


@pytest.mark.parametrize("name", sorted(PLANS))
def test_environment_variables_cannot_weaken_the_providers(name, hostile_plan):
    _, out = hostile_plan(name)
    providers = {r["type"]: r["inputs"] for r in json.loads((out / "resources.json").read_text()) if r["type"].startswith("pulumi:providers:")}
    k8s = providers["pulumi:providers:kubernetes"]
    for flag in ("deleteUnreachable", "skipUpdateUnreachable", "upsertExistingObjects", "enablePatchForce", "enableSecretMutable"):
        assert k8s[flag] == "false", (name, flag, k8s[flag])
    assert re.fullmatch(r"\[secret [0-9a-f]{12}\]", k8s["kubeconfig"])  # a fingerprint, never the value
    if "pulumi:providers:vault" in providers:
        assert providers["pulumi:providers:vault"]["skipTlsVerify"] == "false"

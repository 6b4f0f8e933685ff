"""`make force-sync` / `make verify`: names from the stack, the stack's context, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

FAKE_KUBECTL = r"""#!/bin/bash
echo "$*" >> "$KUBECTL_LOG"
case "$*" in
  "config get-contexts -o name") printf '%s\n' other-cluster aragora-staging ;;
  *"get clustersecretstore"*) printf 'True' ;;
  *"get externalsecret"*) printf 'True' ;;
  *"get secret aragora-secrets-optional"*) printf '{}' ;;
  *"get secret"*) printf '{"DATABASE_URL":"cGxhbnRlZC12YWx1ZQ==","OPENAI_API_KEY":"cGxhbnRlZA=="}' ;;
  *) echo "ok: $*" ;;
esac
"""


def _ops(tmp_path: Path, *args: str, kubectl: bool = True) -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if kubectl:
        fake = bin_dir / "kubectl"
        fake.write_text(FAKE_KUBECTL)
        fake.chmod(0o755)
    log = tmp_path / "kubectl.log"
    # Only the fake: the machine may have a real kubectl (and contexts) of its own.
    env = {**os.environ, "PATH": str(bin_dir), "KUBECTL_LOG": str(log)}
    result = subprocess.run(
        [sys.executable, "-m", "infra.ops", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_force_sync_annotates_the_external_secrets_in_the_stacks_context_but_never_the_jwt(tmp_path):
    result, calls = _ops(tmp_path, "force-sync", "--stack", "staging", "--restart", "deployment/aragora")
    assert result.returncode == 0, result.stderr
    annotations = [c for c in calls if " annotate externalsecret " in c]
    # The session ExternalSecret re-reads on any change (OnChange): annotating it would rotate the JWT.
    assert [c.split()[6] for c in annotations] == ["aragora-secrets", "aragora-secrets-optional"]
    assert "skip aragora-secrets-session" in result.stdout
    for call in annotations:
        assert call.startswith("--context aragora-staging -n aragora annotate externalsecret ")
        assert "force-sync=" in call and call.endswith("--overwrite")
    assert calls[-1] == "--context aragora-staging -n aragora rollout restart deployment/aragora"


def test_verify_reports_readiness_and_key_names_never_values(tmp_path):
    result, calls = _ops(tmp_path, "verify", "--stack", "staging")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ClusterSecretStore aws-secrets-manager: Ready=True" in result.stdout
    assert "Secret keys: DATABASE_URL, OPENAI_API_KEY" in result.stdout
    assert "cGxhbnRlZC" not in result.stdout and "planted" not in result.stdout
    assert all(c.startswith("--context aragora-staging") for c in calls if c != "config get-contexts -o name")


def test_missing_kubectl_is_a_clear_message_and_exit_2(tmp_path):
    result, _ = _ops(tmp_path, "verify", "--stack", "staging", kubectl=False)
    assert result.returncode == 2
    assert "kubectl not found" in result.stderr and "Traceback" not in result.stderr


def test_missing_context_names_the_config_key_and_exit_2(tmp_path):
    result, calls = _ops(tmp_path, "force-sync", "--stack", "production")
    assert result.returncode == 2
    assert "aragora-production" in result.stderr and "aragora-secrets:kubeContext" in result.stderr
    assert not [c for c in calls if "annotate" in c]


def test_makefile_targets_call_the_ops_module():
    makefile = (ROOT / "Makefile").read_text()
    assert "python -m infra.ops force-sync --stack $(STACK)" in makefile
    assert "python -m infra.ops verify --stack $(STACK)" in makefile

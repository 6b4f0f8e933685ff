"""`make force-sync` / `make verify`: names from the stack outputs or the catalog, the stack's context, clear errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra import catalog
from tests.support import ROOT, STACKS, make_dry_run, render

FAKE_KUBECTL = r"""#!/bin/bash
echo "$*" >> "$KUBECTL_LOG"
case "$*" in
  "config get-contexts -o name") printf '%s\n' other-cluster $KUBECTL_CONTEXTS ;;
  *) echo "ok: $*" ;;
esac
"""
REQUEST_TIMEOUT = re.compile(r" --request-timeout=[0-9]+s")


def _ops(tmp_path: Path, *args: str, contexts: str = "", kubectl: bool = True, outputs: dict | None = None):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if kubectl:
        fake = bin_dir / "kubectl"
        fake.write_text(FAKE_KUBECTL)
        fake.chmod(0o755)
    if outputs is not None:
        pulumi = bin_dir / "pulumi"
        pulumi.write_text(f"#!/bin/bash\necho '{json.dumps(outputs)}'\n")  # builtins only: PATH has just the fakes
        pulumi.chmod(0o755)
    log = tmp_path / "kubectl.log"
    # Only the fakes: the machine may have a real kubectl (and contexts) of its own.
    env = {**os.environ, "PATH": str(bin_dir), "KUBECTL_LOG": str(log), "KUBECTL_CONTEXTS": contexts}
    result = subprocess.run(
        [sys.executable, "-m", "stacktools.ops", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    raw = log.read_text().splitlines() if log.exists() else []
    # Every call to the cluster is bounded by a request timeout (config get-contexts reads only the kubeconfig).
    assert all(REQUEST_TIMEOUT.search(c) for c in raw if not c.startswith("config ")), raw
    return result, [REQUEST_TIMEOUT.sub("", c) for c in raw]


@pytest.mark.parametrize("stack", STACKS)
def test_force_sync_annotates_only_periodic_external_secrets_in_the_stacks_context(tmp_path, stack):
    context = render(stack).setting("kubeContext")
    result, calls = _ops(tmp_path, "force-sync", "--stack", stack, "--restart", "deployment/aragora", contexts=context)
    assert result.returncode == 0, result.stderr
    annotated = [c.split()[6] for c in calls if " annotate externalsecret " in c]
    # An OnChange ExternalSecret re-reads on any change: annotating it would rotate the JWT secret.
    assert annotated == [catalog.CATALOG.target_secret(s) for s in catalog.SYNC_CLASSES if s.refresh_policy is catalog.RefreshPolicy.PERIODIC]
    assert f"skip {catalog.CATALOG.target_secret(catalog.SESSION)}" in result.stdout
    for call in (c for c in calls if " annotate " in c):
        assert call.startswith(f"--context {context} -n aragora annotate externalsecret ")
        assert "force-sync=" in call and call.endswith("--overwrite")
    assert calls[-1] == f"--context {context} -n aragora rollout restart deployment/aragora"


def test_names_and_sync_classes_come_from_the_stack_outputs_when_the_cli_can_read_them(tmp_path):
    stack = STACKS[0]
    context = render(stack).setting("kubeContext")
    outputs = {
        "appNamespace": "elsewhere",
        "storeName": "renamed-store",
        "syncClasses": {"renamed-required": "required", "renamed-session": "session", "renamed-optional": "optional"},
    }
    result, calls = _ops(tmp_path, "force-sync", "--stack", stack, contexts=context, outputs=outputs)
    assert result.returncode == 0, result.stderr
    assert "names from pulumi stack output" in result.stdout
    annotated = [c.split()[6] for c in calls if " annotate externalsecret " in c]
    assert annotated == ["renamed-required", "renamed-optional"]
    assert all(" -n elsewhere " in c for c in calls if " annotate " in c)


def test_missing_kubectl_is_a_clear_message_and_exit_2(tmp_path):
    result, _ = _ops(tmp_path, "verify", "--stack", STACKS[0], kubectl=False)
    assert result.returncode == 2
    assert "kubectl not found" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_missing_context_names_the_config_key_and_exit_2(tmp_path, stack):
    context = render(stack).setting("kubeContext")
    result, calls = _ops(tmp_path, "force-sync", "--stack", stack, contexts="some-other-context")
    assert result.returncode == 2
    assert context in result.stderr and "aragora-secrets:kubeContext" in result.stderr
    assert not [c for c in calls if "annotate" in c]


@pytest.mark.parametrize("target", ["force-sync", "verify"])
def test_makefile_targets_call_the_ops_module_for_the_named_stack_only(target):
    stack = STACKS[-1]
    dry = make_dry_run(target, f"STACK={stack}")
    assert f"-m stacktools.ops {target} --stack {stack}" in dry.stdout, dry.stdout + dry.stderr
    # A command that touches a cluster never picks a stack by itself.
    unnamed = make_dry_run(target)
    assert unnamed.returncode != 0 and "STACK=<stack> is required" in unnamed.stderr

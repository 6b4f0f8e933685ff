"""`make preflight`: an ESO chart upgrade is refused while the CRDs still store anything but v1.

kubectl is a fake that prints a recorded `kubectl get crd -o json`: one with
only v1 stored, one with v1beta1 still stored (the state that bricks the
upgrade). The new chart's values are compared with what the stack sets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support import ROOT, STACKS, make_dry_run, render

FIXTURES = Path(__file__).parent / "fixtures"
STACK = STACKS[0]


def _preflight(tmp_path: Path, fixture: str, *args: str) -> subprocess.CompletedProcess:
    context = render(STACK).setting("kubeContext")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "kubectl"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"if sys.argv[1:] == ['config', 'get-contexts', '-o', 'name']: print({context!r})\n"
        f"elif sys.argv[1:] == ['--context', {context!r}, 'get', 'crd', '-o', 'json']: print(open({str(FIXTURES / fixture)!r}).read())\n"
        "else: sys.exit(3)\n"
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": str(bin_dir)}
    return subprocess.run([sys.executable, "-m", "stacktools.preflight", "--stack", STACK, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_only_v1_stored_passes(tmp_path):
    result = _preflight(tmp_path, "crds-v1-only.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: every external-secrets.io CRD stores only v1" in result.stdout


def test_a_stored_v1beta1_refuses_the_upgrade_and_prints_the_migration(tmp_path):
    result = _preflight(tmp_path, "crds-v1beta1-stored.json")
    assert result.returncode == 1
    assert "refused: CRD externalsecrets.external-secrets.io still stores v1beta1" in result.stdout
    assert "refused: CRD secretstores.external-secrets.io still stores v1beta1" in result.stdout
    assert "clustersecretstores" not in result.stdout.split("Migrate")[0]
    assert "storedVersions" in result.stdout and "kubectl --context" in result.stdout


def test_values_the_new_chart_no_longer_has_are_warned_about(tmp_path):
    new_values = tmp_path / "values.yaml"
    # A future chart without the reconciler switch processPushSecret and without webhook.networkPolicy.
    new_values.write_text(yaml.safe_dump({
        "installCRDs": True, "crds": {"annotations": {}}, "replicaCount": 1, "leaderElect": False, "podDisruptionBudget": {"enabled": False, "minAvailable": 1},
        "resources": {}, "serviceAccount": {"create": True, "name": "", "annotations": {}}, "processClusterStore": True,
        "processSecretStore": True, "processClusterExternalSecret": True, "processClusterPushSecret": True, "processClusterGenerator": True,
        "networkPolicy": {"enabled": False, "ingress": [], "egress": []}, "serviceMonitor": {"enabled": False, "renderMode": "skipIfMissing"},
        "grafanaDashboard": {"enabled": False}, "webhook": {"replicaCount": 1, "podDisruptionBudget": {}, "resources": {}},
        "certController": {"resources": {}, "networkPolicy": {}},
    }))
    result = _preflight(tmp_path, "crds-v1-only.json", "--new-values", str(new_values))
    assert result.returncode == 0
    warned = sorted(line.split("`")[1] for line in result.stdout.splitlines() if line.startswith("warning:"))
    assert warned == ["processPushSecret", "webhook.networkPolicy", "webhook.networkPolicy.egress", "webhook.networkPolicy.enabled", "webhook.networkPolicy.ingress"]


def test_makefile_runs_the_preflight_for_the_named_stack_and_never_defaults_to_one():
    stack = STACKS[-1]
    dry = make_dry_run("preflight", f"STACK={stack}")
    assert f"-m stacktools.preflight --stack {stack}" in dry.stdout, dry.stdout + dry.stderr
    unnamed = make_dry_run("preflight")
    assert unnamed.returncode != 0 and "STACK=<stack> is required" in unnamed.stderr

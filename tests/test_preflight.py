"""`make preflight`: an ESO chart upgrade is refused while the CRDs still store anything but v1.

kubectl is a fake that prints a recorded `kubectl get crd -o json`: one with
only v1 stored, one with v1beta1 still stored (the state that bricks the
upgrade). The new chart's values are compared with what the stack sets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.eso_api import GROUP
from stacktools import preflight
from tests.support import ROOT, STACKS, make_dry_run, render, run_main

FIXTURES = Path(__file__).parent / "fixtures"
STACK = STACKS[0]


def _preflight(tmp_path: Path, fixture: str, *args: str) -> subprocess.CompletedProcess:
    context = render(STACK).setting("kubeContext")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "kubectl"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "args = [a for a in sys.argv[1:] if not a.startswith('--request-timeout=')]\n"
        f"if args == ['config', 'get-contexts', '-o', 'name']: print({context!r})\n"
        f"elif args == ['--context', {context!r}, 'get', 'crd', '-o', 'json']: print(open({str(FIXTURES / fixture)!r}).read())\n"
        "else: sys.exit(3)\n"
    )
    fake.chmod(0o755)
    return _in_process(bin_dir, ["--stack", STACK, *args])


def _in_process(bin_dir: Path, argv: list[str]):
    """preflight's main with only the fake kubectl on PATH, in this process."""
    saved = os.environ["PATH"]
    os.environ["PATH"] = str(bin_dir)
    try:
        return run_main(preflight.main, argv)
    finally:
        os.environ["PATH"] = saved


def test_only_v1_stored_passes(tmp_path):
    result = _preflight(tmp_path, "crds-v1-only.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ok: every {GROUP} CRD stores only v1" in result.stdout


def test_a_stored_v1beta1_refuses_the_upgrade_and_prints_the_migration(tmp_path):
    result = _preflight(tmp_path, "crds-v1beta1-stored.json")
    assert result.returncode == 1
    assert f"refused: CRD externalsecrets.{GROUP} still stores v1beta1" in result.stdout
    assert f"refused: CRD secretstores.{GROUP} still stores v1beta1" in result.stdout
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


# --- an ESO the platform installed (esoInstall: external) ----------------------------------------

ACCOUNT = ("eso-addon", "eso-controller")


def _external(tmp_path: Path, *, resources=("clustersecretstores", "externalsecrets"), version="v2.9.0", account=True, label=True):
    """preflight of a stack adopting an installed ESO, against a fake kubectl answering as that cluster would."""
    base = yaml.safe_load((ROOT / f"Pulumi.{STACK}.yaml").read_text())
    base["config"] |= {"aragora-secrets:esoInstall": "external", "aragora-secrets:esoServiceAccount": "/".join(ACCOUNT)}
    stack_file = tmp_path / f"Pulumi.{STACK}.yaml"
    stack_file.write_text(yaml.safe_dump(base))
    context = base["config"]["aragora-secrets:kubeContext"]
    ns, name = ACCOUNT
    meta = {"labels": {"app.kubernetes.io/version": version}} if label else {}
    deploy = {"items": [{"metadata": meta, "spec": {"template": {"spec": {"containers": [{"image": f"ghcr.io/external-secrets/external-secrets:{version}"}]}}}}]}
    answers = {
        ("config", "get-contexts", "-o", "name"): (context, 0),
        ("--context", context, "get", "crd", "-o", "json"): ((FIXTURES / "crds-v1-only.json").read_text(), 0),
        ("--context", context, "get", "--raw", f"/apis/{GROUP}/v1"): (json.dumps({"resources": [{"name": r} for r in resources]}), 0),
        ("--context", context, "-n", ns, "get", "deploy", "-l", "app.kubernetes.io/name=external-secrets", "-o", "json"): (json.dumps(deploy), 0),
        ("--context", context, "-n", ns, "get", "serviceaccount", name, "-o", "name"): (f"serviceaccount/{name}", 0 if account else 1),
    }
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "answers.json").write_text(json.dumps([[list(k), v] for k, v in answers.items()]))
    fake = bin_dir / "kubectl"
    fake.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"answers = {{tuple(k): v for k, v in json.load(open({str(bin_dir / 'answers.json')!r}))}}\n"
        "args = tuple(a for a in sys.argv[1:] if not a.startswith('--request-timeout='))\n"
        "out, code = answers.get(args, ('', 3))\nprint(out)\nif code: print('Error from server (NotFound): not found', file=sys.stderr)\nsys.exit(code)\n"
    )
    fake.chmod(0o755)
    return _in_process(bin_dir, ["--stack", STACK, "--config-file", str(stack_file)])


def test_an_installed_eso_serving_v1_at_a_supported_version_passes(tmp_path):
    result = _external(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ok: the installed ESO serves {GROUP}/v1 and runs a supported version" in result.stdout


def test_the_version_is_read_from_the_image_when_the_label_is_missing(tmp_path):
    result = _external(tmp_path, version="v2.3.1", label=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("version", ["v0.15.0", "v1.4.0", "v3.0.0", "latest"])
def test_an_installed_eso_of_another_major_version_is_refused(tmp_path, version):
    result = _external(tmp_path, version=version)
    chart = render(STACK).setting("esoChartVersion")
    assert result.returncode == 1
    assert f"refused: ESO {version} is installed (supported: {chart.split('.')[0]}.x" in result.stdout


def test_an_installed_eso_not_serving_the_kinds_this_stack_declares_is_refused(tmp_path):
    result = _external(tmp_path, resources=("clustersecretstores",))
    assert result.returncode == 1
    assert f"refused: the cluster does not serve {GROUP}/v1 externalsecrets" in result.stdout


def test_a_missing_service_account_is_refused_naming_the_key(tmp_path):
    result = _external(tmp_path, account=False)
    assert result.returncode == 1
    assert f"refused: service account {'/'.join(ACCOUNT)} not found (esoServiceAccount)" in result.stdout

"""A fourth backend from `make backend`: its skeleton renders, the tooling reads it from its package, and a tool
asked for a capability it lacks says so in one line.

The skeleton is written into a copy of the tree by the same code `make backend`
runs (``stacktools.scaffold``, then ``make docs``' ``stacktools.configdoc``).
The whole suite on a copy grown that way, and the count of the paths it touched
(by git), is `make test-growth` (``tests/growth.py``), run by `make test`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.eso_api import CLUSTER_SECRET_STORE_TYPE
from infra.backends import names
from infra.catalog import CATALOG
from stacktools import scaffold
from tests.support import ROOT, run_main

# The first of these that is not a backend yet (a tree grown by `make backend NAME=onepass` has that one).
NAME = next(n for n in ("onepass", "keystore", "lockbox") if n not in names())
EXAMPLE = f"examples/{NAME}/Pulumi.staging.yaml"


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    assert NAME not in names() and not (ROOT / "components" / NAME).exists(), f"{NAME} exists: the test would add nothing"
    copy = tmp_path_factory.mktemp("fourth") / "repo"
    ignore = shutil.ignore_patterns("__pycache__", ".venv", ".git", "*.pyc", ".pytest_cache", ".ruff_cache")
    for part in ("infra", "components", "stacktools", "examples", "docs"):
        shutil.copytree(ROOT / part, copy / part, ignore=ignore)
    shutil.copy(ROOT / "Pulumi.yaml", copy / "Pulumi.yaml")
    scaffold.write(NAME, copy)
    done = _run(copy, "-m", "stacktools.configdoc")
    assert done.returncode == 0, done.stderr
    return copy


def _run(tree: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def test_the_skeleton_renders_and_the_plan_diff_reads_its_facts_from_its_package(tree, tmp_path):
    out = tmp_path / "plan"
    result = _run(tree, "-m", "stacktools.plan", "--config-file", EXAMPLE, "--out", str(out))
    assert result.returncode == 0, result.stderr
    resources = json.loads((out / "resources.json").read_text())
    items = [r for r in resources if r["type"] == f"{NAME}:index/item:Item"]
    assert len(items) == len(CATALOG)
    store = next(r for r in resources if r["type"] == CLUSTER_SECRET_STORE_TYPE)
    assert {i["urn"] for i in items} <= set(store["depends_on"])  # its grants, from its facts
    assert list((out / "policies").iterdir()) == []  # no access-documents capability yet: none written
    base = tmp_path / "base"
    base.mkdir()
    (base / "resources.json").write_text(json.dumps([*resources, {**items[0], "urn": items[0]["urn"] + "-gone"}]))
    diff = _run(tree, "-m", "stacktools.plan", "--config-file", EXAMPLE, "--diff", str(base))
    assert "deletes the item and its value" in diff.stdout, diff.stdout + diff.stderr


def test_its_keys_are_generated_into_pulumi_yaml_and_the_reference_and_the_backend_key_accepts_it(tree):
    assert f"  {NAME}Endpoint:\n" in (tree / "Pulumi.yaml").read_text()
    assert f"| `{NAME}Endpoint` |" in (tree / "docs" / "configuration.md").read_text()
    result = _run(
        tree, "-c", "from infra.backends import BackendName; from stacktools import configdoc;"
        " print(sorted(b.value for b in BackendName)); raise SystemExit(configdoc.main(['--check']))",
    )
    assert result.returncode == 0 and NAME in result.stdout, result.stdout + result.stderr


# Every tool that needs a capability, in the copy's interpreter: its exit status and its stderr.
TOOLS = """
import contextlib, io, json
from stacktools import checkvalues, rotation
found = {}
for tool in (rotation, checkvalues):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = tool.main(["--stack", "staging", "--config-file", "%s"])
    found[tool.__name__] = [code, err.getvalue()]
print(json.dumps(found))
"""


def test_a_tool_asked_for_a_capability_the_backend_lacks_says_so_in_one_line(tree):
    result = _run(tree, "-c", TOOLS % EXAMPLE)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found == {
        "stacktools.rotation": [2, f"error: rotation reader is not available for {NAME}\n"],
        "stacktools.checkvalues": [2, f"error: value reader is not available for {NAME}\n"],
    }


@pytest.mark.parametrize(("name", "why"), [("aws", "exists already"), ("One-Pass", "allowed: a lower-case letter")])
def test_the_scaffold_refuses_a_taken_or_bad_name_in_one_line(name, why):
    result = run_main(scaffold.main, [name])
    assert result.returncode == 2 and why in result.stderr and result.stderr.count("\n") == 1

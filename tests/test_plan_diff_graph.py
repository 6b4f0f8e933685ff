"""Plan diff between two rendered plans, and the resource graph."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from stacktools import graph, plandiff, recorder
from stacktools import plan as plan_cmd
from tests.support import ANY_STACK, ROOT, render


def _plan_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stacktools.plan", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_identical_plans_have_no_changes_and_exit_0(tmp_path):
    assert _plan_cli("--stack", ANY_STACK, "--out", str(tmp_path / "base")).returncode == 0
    result = _plan_cli("--stack", ANY_STACK, "--diff", str(tmp_path / "base"))
    assert result.returncode == 0, result.stderr
    assert "no changes" in result.stdout


def test_a_config_change_is_shown_with_old_and_new_values_and_exits_1(tmp_path):
    assert _plan_cli("--stack", ANY_STACK, "--out", str(tmp_path / "base")).returncode == 0
    changed = tmp_path / "changed.yaml"
    original = (ROOT / f"Pulumi.{ANY_STACK}.yaml").read_text()
    old = render(ANY_STACK).setting("refreshInterval")
    new = "10m" if old != "10m" else "20m"
    changed.write_text(re.sub(r"aragora-secrets:refreshInterval: .*", f"aragora-secrets:refreshInterval: {new}", original))
    result = _plan_cli("--stack", ANY_STACK, "--config-file", str(changed), "--diff", str(tmp_path / "base"))
    assert result.returncode == 1, result.stderr
    assert f'~ spec.refreshInterval: "{old}" => "{new}"' in result.stdout
    assert "0 to create, 3 to update or replace, 0 to delete" in result.stdout


def test_an_unreadable_base_is_an_error_with_exit_2(tmp_path):
    result = _plan_cli("--stack", ANY_STACK, "--diff", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "--diff" in result.stderr and "Traceback" not in result.stderr


def test_diff_lists_creates_deletes_and_marks_protected_deletes():
    full = render(ANY_STACK).resources
    without_app = [r for r in full if "AppExternalSecrets" not in r["urn"]]
    d = plandiff.diff(full, without_app)
    assert {r["type"] for r in d.delete} == {
        "aragora:eso:AppExternalSecrets", "kubernetes:external-secrets.io/v1:ExternalSecret", "kubernetes:core/v1:Namespace",
    }
    assert d.create == []
    back = plandiff.diff(without_app, full)
    assert len(back.create) == len(d.delete)
    protected = plandiff.render_text(plandiff.diff(full, [r for r in full if r["type"] != "aws:kms/key:Key"]))
    assert re.search(r"- aws:kms/key:Key aws-secrets-kms-key\s+\(protected", protected)


def test_json_policy_strings_are_compared_as_documents_so_key_order_is_no_change():
    base = render(ANY_STACK).resources
    head = json.loads(json.dumps(base))
    for r in head:
        if r["type"] == "aws:iam/policy:Policy":
            doc = json.loads(r["inputs"]["policy"])
            r["inputs"]["policy"] = json.dumps(dict(reversed(list(doc.items()))), indent=4)
    assert not plandiff.diff(base, head).has_changes


def test_secret_values_stay_masked_in_a_diff():
    base = [{"urn": "u", "type": "t", "name": "n", "inputs": {"password": recorder.SECRET}, "depends_on": []}]
    head = [{"urn": "u", "type": "t", "name": "n", "inputs": {"password": recorder.SECRET, "x": 1}, "depends_on": []}]
    text = plandiff.render_text(plandiff.diff(base, head))
    assert "~ x: (none) => 1" in text and "password" not in text


def test_graph_has_every_resource_as_a_node_and_every_dependency_as_an_edge(stack_plan):
    dot = graph.to_dot(stack_plan.resources, "t")
    for r in stack_plan.resources:
        assert f'"{r["urn"]}" [' in dot, r["urn"]
        for dep in r["depends_on"]:
            assert f'"{dep}" -> "{r["urn"]}";' in dot
        if r["parent"]:
            assert f'"{r["parent"]}" -> "{r["urn"]}" [style=dashed' in dot
    clusters = re.findall(r'subgraph "cluster_([^"]+)"', dot)
    assert sorted(clusters) == sorted(r["urn"] for r in stack_plan.resources if not r["custom"] and r["parent"])


def test_missing_graphviz_is_a_note_not_a_failure(tmp_path, monkeypatch):
    monkeypatch.setattr(graph.shutil, "which", lambda _: None)
    note = plan_cmd.write(render(ANY_STACK), tmp_path)
    assert note and "graphviz" in note.lower()
    assert (tmp_path / "graph.dot").exists() and not (tmp_path / "graph.svg").exists()


def test_graph_is_valid_dot_that_graphviz_parsers_accept(stack_plan):
    import pydot

    (parsed,) = pydot.graph_from_dot_data(graph.to_dot(stack_plan.resources, "t"))
    components = [r for r in stack_plan.resources if not r["custom"] and r["parent"]]
    assert len(parsed.get_subgraphs()) == len(components)
    edges = sum(len(r["depends_on"]) + (1 if r["parent"] else 0) for r in stack_plan.resources)
    assert len(parsed.get_edges()) == edges

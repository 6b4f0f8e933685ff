"""Plan diff between two rendered plans, and the resource graph."""

from __future__ import annotations

import copy
import json
import re

from components.eso_api import EXTERNAL_SECRET_TYPE
from infra.durations import go_duration_seconds
from stacktools import graph, plandiff, recorder
from stacktools import plan as plan_cmd
from stacktools.replacements import REPLACE_ON
from tests.support import ANY_STACK, MULTI_CLUSTER, PLANS, ROOT, plans_of, render, render_named, run_main


def _plan_cli(*args: str):
    return run_main(plan_cmd.main, list(args))


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
    # Every ExternalSecret carries the interval, and the stall alert's window follows it.
    plan = render(ANY_STACK)
    touched = len(plan.of_type(EXTERNAL_SECRET_TYPE)) + len(
        plan.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    )
    assert f"0 to create, {touched} to update, 0 to replace, 0 to delete" in result.stdout
    (cost_line,) = [line for line in result.stdout.splitlines() if line.startswith("Cost per month: ")]
    before, after = re.findall(r"\$([0-9.,]+)", cost_line)[:2]
    assert (float(after) > float(before)) is (go_duration_seconds(new) < go_duration_seconds(old)), cost_line


def test_an_unreadable_base_is_an_error_with_exit_2(tmp_path):
    result = _plan_cli("--stack", ANY_STACK, "--diff", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "--diff" in result.stderr and "Traceback" not in result.stderr


def test_diff_lists_creates_deletes_and_marks_protected_deletes():
    full = render(ANY_STACK).resources
    without_app = [r for r in full if "AppExternalSecrets" not in r["urn"]]
    d = plandiff.diff(full, without_app)
    assert {r["type"] for r in d.delete} == {
        "aragora:eso:AppExternalSecrets", EXTERNAL_SECRET_TYPE, "kubernetes:core/v1:Namespace",
    }
    assert d.create == []
    back = plandiff.diff(without_app, full)
    assert len(back.create) == len(d.delete)
    protected = plandiff.render_text(plandiff.diff(full, [r for r in full if r["type"] != "aws:kms/key:Key"]))
    assert re.search(r"- aws:kms/key:Key aws-secrets-kms-key\s+\(protected: the engine will refuse", protected)


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
    assert "    + x: 1" in text and "password" not in text


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



# --- replace-aware diff ----------------------------------------------------------------

VARIANTS = [
    {},
    {"awsIdentity": "pod-identity", "awsEksClusterName": "c"},
    {"awsVpcEndpoints": "create", "awsVpcId": "vpc-0abc12345def67890", "awsVpcSubnetIds": ["subnet-0abc12345def67890"], "awsVpcSecurityGroupIds": ["sg-0abc12345def67890"]},
    {"awsRotationLambdaArns": ["database=arn:aws:lambda:us-east-1:111122223333:function:rotate"], "awsConfigRules": True, "awsAccountId": "111122223333",
     "awsOidcProviderArn": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF", "kubeContext": "variant", "awsDeployerRoleArn": ""},
]


def test_the_replacement_table_covers_every_resource_type_the_stacks_declare():
    declared = set()
    # The variants switch one cluster's identity and network: the single-cluster configurations (a stack with
    # several clusters declares the same types, tests/test_multi_region.py).
    for name in (n for n in PLANS if n not in MULTI_CLUSTER):
        for overrides in VARIANTS if render_named(name).setting("backend") == "aws" else [{}]:
            declared |= {r["type"] for r in render_named(name, **overrides).resources if r["custom"]}
    declared |= {r["type"] for r in render_named(plans_of("vault")[0], vaultTokenReviewer="vault", vaultKubernetesCaCert="").resources if r["custom"]}
    assert declared - set(REPLACE_ON) == set()


def _changed(base: list[dict], type_: str, mutate) -> list[dict]:
    head = copy.deepcopy(base)
    (r,) = [r for r in head if r["type"] == type_][:1]
    mutate(r)
    return head


def test_renaming_a_secret_is_a_replace_the_engine_refuses_and_says_what_it_would_lose():
    base = render(ANY_STACK).resources
    head = _changed(base, "aws:secretsmanager/secret:Secret", lambda r: r["inputs"].update(name=r["inputs"]["name"] + "-renamed"))
    text = plandiff.render_text(plandiff.diff(base, head))
    assert re.search(r"^\+- aws:secretsmanager/secret:Secret \S+  \(protected: the engine will refuse", text, re.M), text
    assert re.search(r"^    \+- name: ", text, re.M)
    assert "1 to replace" in text


def test_a_policy_change_is_an_update_not_a_replace():
    base = render(ANY_STACK).resources
    head = _changed(base, "aws:iam/policy:Policy", lambda r: r["inputs"].update(policy=r["inputs"]["policy"].replace("DescribeSecret", "ListSecretVersionIds")))
    d = plandiff.diff(base, head)
    assert [c.replace for c in d.update] == [False]
    assert re.search(r"^~ aws:iam/policy:Policy", plandiff.render_text(d), re.M)


def test_another_kube_context_replaces_the_provider_and_says_everything_goes_with_it():
    base, head = render(ANY_STACK).resources, render(ANY_STACK, kubeContext="another-cluster").resources
    text = plandiff.render_text(plandiff.diff(base, head))
    assert re.search(r"^\+- pulumi:providers:kubernetes k8s  \(every resource of this provider goes with it\)", text, re.M), text


def test_a_removed_external_secret_says_its_secret_stays_unsynced():
    base = render(ANY_STACK).resources
    head = [r for r in base if not r["urn"].endswith("::app-secrets-aragora-secrets-optional")]
    text = plandiff.render_text(plandiff.diff(base, head))
    assert f"- {EXTERNAL_SECRET_TYPE} app-secrets-aragora-secrets-optional  (the Secret aragora-secrets-optional stays (creationPolicy Orphan) but is no longer synced)" in text


def test_any_change_to_the_on_change_external_secret_warns_that_it_re_reads_the_jwt_secret():
    base, head = render(ANY_STACK).resources, render(ANY_STACK, jwtRotation="2026-12-01").resources
    text = plandiff.render_text(plandiff.diff(base, head))
    (line,) = [ln for ln in text.splitlines() if "app-secrets-aragora-secrets-session" in ln]
    assert line.startswith("~ ") and "re-reads its value now" in line and "logged out" in line


def test_a_vault_mount_moves_in_place_but_a_type_change_replaces_it_and_destroys_its_values():
    base = render_named(plans_of("vault")[0]).resources
    moved = _changed(base, "vault:index/mount:Mount", lambda r: r["inputs"].update(path="kv-moved"))
    assert [c.replace for c in plandiff.diff(base, moved).update] == [False]
    retyped = _changed(base, "vault:index/mount:Mount", lambda r: r["inputs"].update(type="kv-v1"))
    (change,) = plandiff.diff(base, retyped).update
    assert change.replace and change.notes[0] == "protected: the engine will refuse until it is unprotected"
    # Same path, created before the old one goes: it could not succeed even unprotected.
    assert change.notes[1].startswith('cannot succeed as planned: both would hold path "')


def test_removing_a_retained_shared_object_says_it_is_left_in_place():
    base = render_named(plans_of("vault")[0]).resources
    head = [r for r in base if r["type"] != "vault:index/audit:Audit"]
    text = plandiff.render_text(plandiff.diff(base, head))
    assert re.search(r"^- vault:index/audit:Audit vault-audit  \(retained: dropped from the stack, left in place\)", text, re.M), text

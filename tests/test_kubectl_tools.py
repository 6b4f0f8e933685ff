"""verify, force-sync and preflight with the real kubectl against a small API server on 127.0.0.1 (tests.kube_api).

What they must tell: every catalog key of every target Secret (a missing or
empty one is a finding, exit 1), a cluster without ESO's CRDs is not checked
(exit 2), and a server that hangs (after discovery, or from the start) or
refuses ends the tool within its deadline with one line naming the kubectl
call (exit 2), never a traceback. Short ``--deadline`` flags keep the hang
cases to seconds; the default is 60 s.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from components.eso_api import API_VERSION, GROUP
from infra import catalog
from infra.stackfiles import stack_of
from stacktools import ops, preflight
from tests.kube_api import deployed, deployed_clusters
from tests.support import MULTI_CLUSTER, STACKS, one_line_error, render, run_main

STACK = STACKS[0]
CAT = catalog.CATALOG
NS = CAT.app.namespace
FIXTURES = Path(__file__).parent / "fixtures"
HANG_DEADLINE = 1
"""Seconds: the hang cases' --deadline (the bound they are held to, plus interpreter and kubectl start). One second,
not two: each hang case idles a worker for its whole deadline, and the bound and the one line are what is tested."""


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    with deployed(STACK, tmp_path, monkeypatch) as api:
        yield api


def _secret_path(sync: catalog.SyncClass) -> str:
    return f"/api/v1/namespaces/{NS}/secrets/{CAT.target_secret(sync)}"


def test_a_healthy_cluster_verifies_with_every_key_named_and_no_value_printed(cluster):
    result = run_main(ops.main, ["verify", "--stack", STACK])
    assert result.returncode == 0, result.stdout + result.stderr
    for sync, entries in CAT.by_sync_class.items():
        assert f"ExternalSecret {NS}/{CAT.target_secret(sync)}: Ready=True; Secret keys: {', '.join(sorted(e.env_var for e in entries))}" in result.stdout
    assert "planted" not in result.stdout and "cGxhbnRlZ" not in result.stdout


@pytest.mark.parametrize("sync", [s for s in CAT.by_sync_class if s.must_sync])
def test_verify_fails_on_a_secret_missing_a_catalog_key(cluster, sync):
    gone = CAT.by_sync_class[sync][-1].env_var
    del cluster.objects[_secret_path(sync)]["data"][gone]
    result = run_main(ops.main, ["verify", "--stack", STACK])
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"missing {gone}" in result.stdout


def test_verify_fails_on_an_empty_value(cluster):
    sync = next(s for s in CAT.by_sync_class if s.must_sync)
    emptied = CAT.by_sync_class[sync][0].env_var
    cluster.objects[_secret_path(sync)]["data"][emptied] = ""
    result = run_main(ops.main, ["verify", "--stack", STACK])
    assert result.returncode == 1 and f"empty {emptied}" in result.stdout, result.stdout


def test_verify_fails_on_an_external_secret_that_is_not_there(cluster):
    sync = next(s for s in CAT.by_sync_class if s.must_sync)
    del cluster.objects[f"/apis/{API_VERSION}/namespaces/{NS}/externalsecrets/{CAT.target_secret(sync)}"]
    result = run_main(ops.main, ["verify", "--stack", STACK])
    assert result.returncode == 1 and f"{CAT.target_secret(sync)}: Ready=not found" in result.stdout, result.stdout


@pytest.mark.parametrize("tool", ["verify", "force-sync", "preflight"])
def test_a_server_that_hangs_after_discovery_ends_the_tool_in_time_with_one_line(cluster, tool):
    cluster.hang_objects = True
    start = time.monotonic()
    main, argv = (preflight.main, []) if tool == "preflight" else (ops.main, [tool])
    result = run_main(main, [*argv, "--stack", STACK, "--deadline", str(HANG_DEADLINE)])
    assert time.monotonic() - start < HANG_DEADLINE + 5
    one_line_error(result, "kubectl --context", render(STACK).setting("kubeContext"))


def test_a_silent_server_ends_verify_in_time_with_one_line(cluster):
    cluster.silent = True
    start = time.monotonic()
    result = run_main(ops.main, ["verify", "--stack", STACK, "--deadline", str(HANG_DEADLINE)])
    assert time.monotonic() - start < HANG_DEADLINE + 5
    one_line_error(result, "kubectl --context")


@pytest.mark.parametrize("status", [403, 500])
def test_a_refusing_server_shows_kubectls_error(cluster, status):
    cluster.status = status
    result = run_main(ops.main, ["verify", "--stack", STACK])
    one_line_error(result, "get clustersecretstore", f"injected fault {status}")


def test_preflight_refuses_a_cluster_without_esos_crds(cluster):
    cluster.objects = {p: o for p, o in cluster.objects.items() if "customresourcedefinitions" not in p}
    cluster.groups = tuple(g for g in cluster.groups if not g.startswith("external-secrets.io"))
    result = run_main(preflight.main, ["--stack", STACK])
    one_line_error(result, "clustersecretstores.external-secrets.io", "externalsecrets.external-secrets.io")


def test_preflight_passes_a_cluster_whose_crds_store_only_v1(cluster):
    result = run_main(preflight.main, ["--stack", STACK])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: every external-secrets.io CRD stores only v1" in result.stdout


def test_force_sync_annotates_through_the_api(cluster):
    result = run_main(ops.main, ["force-sync", "--stack", STACK])
    assert result.returncode == 0, result.stdout + result.stderr
    patched = {r.split("/")[-1] for r in cluster.requests if r.startswith("PATCH ")}
    assert patched == {CAT.target_secret(s) for s in CAT.by_sync_class if s.force_sync_allowed}
    for name in patched:
        annotations = cluster.objects[f"/apis/{API_VERSION}/namespaces/{NS}/externalsecrets/{name}"]["metadata"]["annotations"]
        assert annotations["force-sync"].isdigit()


def test_a_bad_deadline_variable_is_one_line_naming_it(cluster, monkeypatch):
    monkeypatch.setenv("ARAGORA_TOOL_DEADLINE", "soon")
    result = run_main(ops.main, ["verify", "--stack", STACK])
    one_line_error(result, "ARAGORA_TOOL_DEADLINE")
    assert os.environ["ARAGORA_TOOL_DEADLINE"] == "soon"


def test_a_refused_connection_is_one_line_with_kubectls_error(cluster, tmp_path, monkeypatch):
    from tests.faults import refused
    from tests.kube_api import kubeconfig

    url = refused()
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "refused-kubeconfig", render(STACK).setting("kubeContext"), url)))
    for main, argv in ((ops.main, ["verify"]), (ops.main, ["force-sync"]), (preflight.main, [])):
        one_line_error(run_main(main, [*argv, "--stack", STACK]), "kubectl --context", "refused")


# --- a stack with several clusters (clusters): every tool acts in each, through each one's context ---------

MULTI_STACK_FILE = next(iter(MULTI_CLUSTER.values()))
MULTI_STACK = stack_of(MULTI_STACK_FILE)


@pytest.fixture
def clusters(tmp_path, monkeypatch):
    with deployed_clusters(MULTI_STACK, MULTI_STACK_FILE, tmp_path, monkeypatch) as servers:
        assert len(servers) > 1
        yield servers


def _multi(main, *argv: str):
    return run_main(main, [*argv, "--stack", MULTI_STACK, "--config-file", str(MULTI_STACK_FILE)])


def test_verify_checks_every_cluster_of_the_stack_through_its_own_context(clusters):
    result = _multi(ops.main, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    for context, api in clusters.items():
        assert f"context {context}," in result.stdout
        # Each cluster's store and every ExternalSecret read from that cluster's own API server.
        assert any("clustersecretstores" in r for r in api.requests), context
        assert {r.split("/")[-1] for r in api.requests if "/externalsecrets/" in r} == {CAT.target_secret(s) for s in CAT.by_sync_class}


def test_a_key_missing_in_any_one_cluster_fails_verify_under_that_clusters_context(clusters):
    *_, (last, api) = clusters.items()
    sync = next(s for s in CAT.by_sync_class if s.must_sync)
    gone = CAT.by_sync_class[sync][-1].env_var
    del api.objects[_secret_path(sync)]["data"][gone]
    result = _multi(ops.main, "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    # The finding is printed in the failing cluster's section, after its context line.
    assert f"missing {gone}" in result.stdout.split(f"context {last},", 1)[1]
    assert f"missing {gone}" not in result.stdout.split(f"context {last},", 1)[0]


def test_force_sync_annotates_in_every_cluster(clusters):
    result = _multi(ops.main, "force-sync")
    assert result.returncode == 0, result.stdout + result.stderr
    for api in clusters.values():
        patched = {r.split("/")[-1] for r in api.requests if r.startswith("PATCH ")}
        assert patched == {CAT.target_secret(s) for s in CAT.by_sync_class if s.force_sync_allowed}


def test_preflight_refuses_when_any_one_cluster_still_stores_an_old_version(clusters):
    result = _multi(preflight.main)
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(any("customresourcedefinitions" in r for r in api.requests) for api in clusters.values())
    *_, (last, api) = clusters.items()
    crd = next(o for p, o in api.objects.items() if p.endswith(f"/externalsecrets.{GROUP}"))
    crd["status"]["storedVersions"] = ["v1beta1", "v1"]
    result = _multi(preflight.main)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"refused: CRD externalsecrets.{GROUP} still stores v1beta1" in result.stdout.split(f"context {last}:", 1)[1]

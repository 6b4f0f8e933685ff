"""The ClusterSecretStore and the ExternalSecrets, field by field, and the catalog mapping."""

from __future__ import annotations

from collections import Counter

import pytest

from components.eso_api import API_VERSION, CLUSTER_SECRET_STORE_TYPE, EXTERNAL_SECRET_TYPE
from infra import catalog
from infra.fields import ConfigError
from stacktools import plandiff
from tests.support import (
    ANY_STACK,
    PLANS,
    clusters_of,
    configured,
    one_through,
    plans_of,
    read_region,
    render,
    render_named,
    through,
)

CAT = catalog.CATALOG
STORE = CLUSTER_SECRET_STORE_TYPE
ES = EXTERNAL_SECRET_TYPE


@pytest.fixture(params=sorted(PLANS))
def any_plan(request):
    """Every shipped stack and example, whatever its backend."""
    return render_named(request.param)


@pytest.fixture(params=plans_of("aws"))
def aws_plan(request):
    return render_named(request.param)


def _external_secrets(plan) -> dict[str, dict]:
    return {r["inputs"]["metadata"]["name"]: r for r in plan.of_type(ES)}


def _data(es: dict) -> dict[str, dict]:
    return {d["secretKey"]: d["remoteRef"] for d in es["inputs"]["spec"]["data"]}


def test_each_aws_store_authenticates_as_the_eso_service_account_with_its_namespace(aws_plan):
    for name, keys in clusters_of(aws_plan).items():
        store = one_through(aws_plan, keys, STORE)["inputs"]
        assert store["apiVersion"] == API_VERSION
        assert store["metadata"]["name"] == "aws-secrets-manager"
        assert store["spec"]["provider"] == {
            "aws": {
                "service": "SecretsManager",
                "region": read_region(keys),
                "auth": {"jwt": {"serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"}}},
            }
        }, name


def test_each_clusters_store_serves_only_the_app_namespace(any_plan):
    for name, keys in clusters_of(any_plan).items():
        store = one_through(any_plan, keys, STORE)["inputs"]
        assert store["spec"]["conditions"] == [{"namespaces": [CAT.app.namespace]}], name
        external_secret_namespaces = {es["inputs"]["metadata"]["namespace"] for es in through(any_plan, keys, ES)}
        assert external_secret_namespaces == {CAT.app.namespace}, name


# The sync class writing each Secret, by its name (the catalog's own mapping, read the other way).
SYNC_OF = {CAT.target_secret(s): s for s in CAT.by_sync_class}


def test_each_clusters_store_and_required_external_secrets_make_pulumi_up_wait_for_ready(any_plan):
    for keys in clusters_of(any_plan).values():
        external_secrets = {es["inputs"]["metadata"]["name"]: es for es in through(any_plan, keys, ES)}
        objects = [one_through(any_plan, keys, STORE)] + [
            es for name, es in external_secrets.items() if SYNC_OF[name].await_ready
        ]
        assert len(objects) == 1 + sum(1 for s in CAT.by_sync_class if s.await_ready)
        for obj in objects:
            annotations = obj["inputs"]["metadata"]["annotations"]
            assert annotations["pulumi.com/waitFor"] == "condition=Ready", obj["name"]
            assert 60 <= int(annotations["pulumi.com/timeoutSeconds"]) <= 900, obj["name"]


def test_a_missing_optional_value_never_blocks_pulumi_up(any_plan):
    annotations = _external_secrets(any_plan)[CAT.target_secret(catalog.OPTIONAL)]["inputs"]["metadata"]["annotations"]
    assert "pulumi.com/waitFor" not in annotations
    assert annotations["pulumi.com/skipAwait"] == "true"


def test_each_clusters_custom_resources_are_created_after_its_own_operator_release(any_plan):
    for keys in clusters_of(any_plan).values():
        release = one_through(any_plan, keys, "kubernetes:helm.sh/v3:Release")["urn"]
        for r in [one_through(any_plan, keys, STORE), *through(any_plan, keys, ES)]:
            assert release in r["depends_on"], r["name"]


def test_every_catalog_entry_is_synced_exactly_once_in_each_cluster(any_plan):
    clusters = clusters_of(any_plan)
    for name, keys in clusters.items():
        synced = Counter(k for es in through(any_plan, keys, ES) for k in _data(es))
        assert synced == Counter(e.env_var for e in CAT), name
    # And nowhere else: no ExternalSecret outside the stack's clusters.
    assert len(any_plan.of_type(ES)) == len(clusters) * len(CAT.by_sync_class)


def test_each_sync_class_lands_in_its_own_secret_and_optional_ones_apart(any_plan):
    es = _external_secrets(any_plan)
    assert set(es) == {CAT.target_secret(s) for s in CAT.by_sync_class}
    for sync, entries in CAT.by_sync_class.items():
        assert set(_data(es[CAT.target_secret(sync)])) == {e.env_var for e in entries}


def test_remote_refs_point_at_the_grouped_secrets_of_this_environment(aws_plan):
    env = aws_plan.stack
    refs = {k: v for es in aws_plan.of_type(ES) for k, v in _data(es).items()}
    assert refs == {e.env_var: {"key": f"{CAT.app.name}/{env}/{e.group}", "property": e.key} for e in CAT}


def test_secrets_outlive_their_external_secret_and_a_value_gone_from_the_backend(any_plan):
    for keys in clusters_of(any_plan).values():
        # Each cluster's ExternalSecrets read through that cluster's own store.
        store = one_through(any_plan, keys, STORE)["inputs"]["metadata"]["name"]
        external_secrets = through(any_plan, keys, ES)
        assert external_secrets
        for es in external_secrets:
            name, spec = es["inputs"]["metadata"]["name"], es["inputs"]["spec"]
            assert es["inputs"]["metadata"]["namespace"] == CAT.app.namespace
            assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": store}
            assert spec["target"]["name"] == name
            # Orphan: no ownerReference, so deleting the ExternalSecret never deletes the Secret.
            assert spec["target"]["creationPolicy"] == "Orphan"
            assert spec["target"]["deletionPolicy"] == "Retain"


@pytest.mark.parametrize("name", sorted(PLANS))
def test_refresh_interval_is_the_one_each_stack_configures(name):
    stack, config_file = PLANS[name]
    expected = configured(stack, "refreshInterval", config_file)
    plan = render_named(name)
    assert {es["inputs"]["spec"]["refreshInterval"] for es in plan.of_type(ES)} == {expected}


def test_jwt_secret_never_changes_on_a_periodic_refresh(any_plan):
    es = _external_secrets(any_plan)
    session = es[CAT.target_secret(catalog.SESSION)]["inputs"]
    assert session["spec"]["refreshPolicy"] == "OnChange"
    assert session["metadata"]["annotations"][CAT.app.jwt_rotation_annotation] == any_plan.setting("jwtRotation")
    for sync in (catalog.REQUIRED, catalog.OPTIONAL):
        assert es[CAT.target_secret(sync)]["inputs"]["spec"]["refreshPolicy"] == "Periodic"


@pytest.mark.parametrize("name", sorted(PLANS))
def test_jwt_rotation_is_a_config_change_that_changes_the_external_secret(name):
    before = _external_secrets(render_named(name))["aragora-secrets-session"]["inputs"]
    after = _external_secrets(render_named(name, jwtRotation="2026-12-01"))["aragora-secrets-session"]["inputs"]
    assert before["spec"] != after["spec"]  # a spec change bumps the generation OnChange syncs on
    assert after["spec"]["target"]["template"]["metadata"]["annotations"] == {"aragora.io/jwt-rotation": "2026-12-01"}
    assert after["spec"]["target"]["template"]["mergePolicy"] == "Merge"


def test_app_namespace_is_declared_in_each_cluster_and_never_deleted_by_the_stack(any_plan):
    for name, keys in clusters_of(any_plan).items():
        ns = [r for r in through(any_plan, keys, "kubernetes:core/v1:Namespace") if r["inputs"]["metadata"]["name"] == CAT.app.namespace]
        assert len(ns) == 1 and ns[0]["retain_on_delete"] is True, name


def test_every_kubernetes_object_goes_through_the_explicit_provider_of_one_of_the_stacks_clusters(any_plan):
    clusters = clusters_of(any_plan)
    providers = any_plan.of_type("pulumi:providers:kubernetes")
    # One provider per cluster, each pinned to that cluster's context as the stack file names it.
    assert sorted(p["inputs"]["context"] for p in providers) == sorted(keys["kubeContext"] for keys in clusters.values())
    k8s = [r for r in any_plan.resources if r["custom"] and r["type"].startswith("kubernetes:")]
    applied = [r for keys in clusters.values() for r in through(any_plan, keys) if r["custom"]]
    for name, keys in clusters.items():
        assert len([r for r in through(any_plan, keys) if r["custom"]]) >= 7, name
    assert sorted(r["urn"] for r in k8s) == sorted(r["urn"] for r in applied)


@pytest.mark.parametrize("name", sorted(PLANS))
def test_await_sync_off_declares_everything_and_only_stops_pulumi_from_waiting(name):
    full, first = render_named(name), render_named(name, awaitSync=False)
    assert {r["urn"] for r in first.resources} == {r["urn"] for r in full.resources}
    for r in [*first.of_type(STORE), *first.of_type(ES)]:
        annotations = r["inputs"]["metadata"]["annotations"]
        assert annotations.get("pulumi.com/skipAwait") == "true" and "pulumi.com/waitFor" not in annotations
    # Nothing but those annotations differs.
    changed = {c.urn for c in plandiff.diff(full.resources, first.resources).update}
    assert changed == {r["urn"] for r in [*full.of_type(STORE), *full.of_type(ES)] if "pulumi.com/waitFor" in r["inputs"]["metadata"]["annotations"]}


def test_the_removed_bootstrap_switch_is_refused_with_the_way_forward():
    with pytest.raises(ConfigError, match=r"^aragora-secrets:bootstrap: was removed: .*awaitSync: false"):
        render(ANY_STACK, bootstrap=True)


def test_a_catalog_with_a_duplicate_location_is_rejected():
    dup = catalog.SecretEntry("OTHER_URL", "database", "url", "other-url", catalog.REQUIRED, "dup")
    with pytest.raises(ValueError, match="duplicate location"):
        catalog.Catalog((*catalog.CATALOG, dup))


def test_every_sync_class_writes_its_own_secret_and_only_periodic_ones_may_be_forced():
    targets = [catalog.CATALOG.target_secret(s) for s in catalog.SYNC_CLASSES]
    assert len(set(targets)) == len(targets)
    for s in catalog.SYNC_CLASSES:
        assert s.force_sync_allowed is (s.refresh_policy is catalog.RefreshPolicy.PERIODIC)

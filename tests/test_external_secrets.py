"""The ClusterSecretStore and the ExternalSecrets, field by field, and the catalog mapping."""

from __future__ import annotations

from collections import Counter

import pytest

from infra import catalog
from tests.conftest import render, stack_file_value

STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
ES = "kubernetes:external-secrets.io/v1:ExternalSecret"


def _external_secrets(plan) -> dict[str, dict]:
    return {r["inputs"]["metadata"]["name"]: r for r in plan.of_type(ES)}


def _data(es: dict) -> dict[str, dict]:
    return {d["secretKey"]: d["remoteRef"] for d in es["inputs"]["spec"]["data"]}


def test_aws_store_authenticates_as_the_eso_service_account_with_its_namespace(stack_plan):
    store = stack_plan.one(STORE)["inputs"]
    assert store["apiVersion"] == "external-secrets.io/v1"
    assert store["metadata"]["name"] == "aws-secrets-manager"
    assert store["spec"] == {
        "provider": {
            "aws": {
                "service": "SecretsManager",
                "region": stack_file_value(stack_plan.stack, "awsRegion"),
                "auth": {"jwt": {"serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"}}},
            }
        }
    }


def test_store_and_required_external_secrets_make_pulumi_up_wait_for_ready(stack_plan):
    objects = [stack_plan.one(STORE)] + [
        es for name, es in _external_secrets(stack_plan).items() if name != "aragora-secrets-optional"
    ]
    for obj in objects:
        annotations = obj["inputs"]["metadata"]["annotations"]
        assert annotations["pulumi.com/waitFor"] == "condition=Ready"
        assert 60 <= int(annotations["pulumi.com/timeoutSeconds"]) <= 900


def test_a_missing_optional_value_never_blocks_pulumi_up(stack_plan):
    annotations = _external_secrets(stack_plan)["aragora-secrets-optional"]["inputs"]["metadata"]["annotations"]
    assert "pulumi.com/waitFor" not in annotations
    assert annotations["pulumi.com/skipAwait"] == "true"


def test_custom_resources_are_created_after_the_operator_release(stack_plan):
    release = stack_plan.one("kubernetes:helm.sh/v3:Release")["urn"]
    for r in [stack_plan.one(STORE), *stack_plan.of_type(ES)]:
        assert release in r["depends_on"], r["name"]


def test_every_catalog_entry_is_synced_exactly_once(stack_plan):
    keys = Counter(k for es in stack_plan.of_type(ES) for k in _data(es))
    assert keys == Counter(e.env_var for e in catalog.CATALOG)
    assert set(keys) == {
        "DATABASE_URL", "ARAGORA_JWT_SECRET", "ANTHROPIC_API_KEY", "OPENAI_API_KEY",
        "OPENROUTER_API_KEY", "MISTRAL_API_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
    }


def test_required_values_land_in_aragora_secrets_and_optional_ones_apart(stack_plan):
    es = _external_secrets(stack_plan)
    assert set(_data(es["aragora-secrets"])) == {"DATABASE_URL", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"}
    assert set(_data(es["aragora-secrets-session"])) == {"ARAGORA_JWT_SECRET"}
    assert set(_data(es["aragora-secrets-optional"])) == {
        "OPENROUTER_API_KEY", "MISTRAL_API_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
    }


def test_remote_refs_point_at_the_grouped_secrets_of_this_environment(stack_plan):
    env = stack_plan.stack
    refs = {k: v for es in stack_plan.of_type(ES) for k, v in _data(es).items()}
    assert refs["DATABASE_URL"] == {"key": f"aragora/{env}/database", "property": "url"}
    assert refs["ARAGORA_JWT_SECRET"] == {"key": f"aragora/{env}/auth", "property": "jwt-secret"}
    assert refs["ANTHROPIC_API_KEY"] == {"key": f"aragora/{env}/api-keys", "property": "anthropic"}
    assert refs["OPENAI_API_KEY"] == {"key": f"aragora/{env}/api-keys", "property": "openai"}
    assert refs["STRIPE_WEBHOOK_SECRET"] == {"key": f"aragora/{env}/billing", "property": "stripe-webhook-secret"}


def test_external_secrets_target_owned_secrets_retained_when_the_remote_disappears(stack_plan):
    for name, es in _external_secrets(stack_plan).items():
        spec = es["inputs"]["spec"]
        assert es["inputs"]["metadata"]["namespace"] == "aragora"
        assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}
        assert spec["target"]["name"] == name
        assert spec["target"]["creationPolicy"] == "Owner"
        assert spec["target"]["deletionPolicy"] == "Retain"


def test_refresh_interval_is_5m_in_staging_and_1h_in_production(stack_plan):
    expected = {"staging": "5m", "production": "1h"}[stack_plan.stack]
    for es in stack_plan.of_type(ES):
        assert es["inputs"]["spec"]["refreshInterval"] == expected


def test_jwt_secret_never_changes_on_a_periodic_refresh(stack_plan):
    es = _external_secrets(stack_plan)
    session = es["aragora-secrets-session"]["inputs"]
    assert session["spec"]["refreshPolicy"] == "OnChange"
    assert session["metadata"]["annotations"]["aragora.io/jwt-rotation"] == "initial"
    assert es["aragora-secrets"]["inputs"]["spec"]["refreshPolicy"] == "Periodic"
    assert es["aragora-secrets-optional"]["inputs"]["spec"]["refreshPolicy"] == "Periodic"


def test_jwt_rotation_is_a_config_change_that_changes_the_external_secret():
    before = _external_secrets(render("staging"))["aragora-secrets-session"]["inputs"]
    after = _external_secrets(render("staging", jwtRotation="2026-12-01"))["aragora-secrets-session"]["inputs"]
    assert before["spec"] != after["spec"]  # a spec change bumps the generation OnChange syncs on
    assert after["spec"]["target"]["template"]["metadata"]["annotations"] == {"aragora.io/jwt-rotation": "2026-12-01"}
    assert after["spec"]["target"]["template"]["mergePolicy"] == "Merge"


def test_app_namespace_is_declared_and_never_deleted_by_the_stack(stack_plan):
    ns = [r for r in stack_plan.of_type("kubernetes:core/v1:Namespace") if r["inputs"]["metadata"]["name"] == "aragora"]
    assert len(ns) == 1 and ns[0]["retain_on_delete"] is True


def test_every_kubernetes_object_goes_through_the_stacks_explicit_provider(stack_plan):
    provider = stack_plan.one("pulumi:providers:kubernetes")
    assert provider["inputs"]["context"] == stack_file_value(stack_plan.stack, "kubeContext")
    k8s = [r for r in stack_plan.resources if r["custom"] and r["type"].startswith("kubernetes:")]
    assert len(k8s) >= 7
    for r in k8s:
        assert r["provider"].startswith(provider["urn"] + "::"), r["name"]


def test_bootstrap_declares_operator_and_backend_but_no_custom_resources():
    plan = render("staging", bootstrap=True)
    assert plan.of_type(STORE) == [] and plan.of_type(ES) == []
    assert plan.one("kubernetes:helm.sh/v3:Release")
    assert len(plan.of_type("aws:secretsmanager/secret:Secret")) == 4


def test_adding_a_secret_is_one_catalog_line(monkeypatch):
    extra = catalog.SecretEntry("SENTRY_DSN", "observability", "sentry-dsn", "sentry-dsn", catalog.SyncClass.OPTIONAL, "Sentry DSN")
    monkeypatch.setattr(catalog, "CATALOG", catalog.CATALOG + (extra,))
    from infra import plan as plan_mod

    plan = plan_mod.render("staging")  # not the cached helper: the catalog changed
    names = {r["inputs"]["name"] for r in plan.of_type("aws:secretsmanager/secret:Secret")}
    assert "aragora/staging/observability" in names
    optional = _external_secrets(plan)["aragora-secrets-optional"]
    assert _data(optional)["SENTRY_DSN"] == {"key": "aragora/staging/observability", "property": "sentry-dsn"}


def test_a_catalog_with_a_duplicate_location_is_rejected(monkeypatch):
    dup = catalog.SecretEntry("OTHER_URL", "database", "url", "other-url", catalog.SyncClass.REQUIRED, "dup")
    monkeypatch.setattr(catalog, "CATALOG", catalog.CATALOG + (dup,))
    with pytest.raises(ValueError, match="duplicate location"):
        catalog.validate_catalog()


@pytest.mark.parametrize(
    ("stack", "config_file", "grant_types"),
    [
        ("staging", None, {"aws:iam/rolePolicyAttachment:RolePolicyAttachment"}),
        ("staging", "examples/vault-staging.yaml", {
            "vault:index/policy:Policy", "vault:kubernetes/authBackendConfig:AuthBackendConfig",
            "vault:kubernetes/authBackendRole:AuthBackendRole", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        }),
        ("staging", "examples/gcp-staging.yaml", {
            "gcp:serviceaccount/iAMMember:IAMMember", "gcp:secretmanager/secretIamMember:SecretIamMember",
        }),
    ],
    ids=["aws", "vault", "gcp"],
)
def test_store_is_created_only_after_every_grant_it_needs(stack, config_file, grant_types):
    from tests.conftest import ROOT

    plan = render(stack, ROOT / config_file if config_file else None)
    depends_on = set(plan.one(STORE)["depends_on"])
    grants = [r for r in plan.resources if r["type"] in grant_types]
    assert {r["type"] for r in grants} == grant_types
    for r in grants:
        assert r["urn"] in depends_on, r["name"]

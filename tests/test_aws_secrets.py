"""Secrets Manager containers: empty, encrypted with the environment's own key, protected."""

from __future__ import annotations

import json

import pytest

from infra import catalog
from tests.support import aws_region_of, clusters_of, plans_of, render_named

SECRET = "aws:secretsmanager/secret:Secret"
KEY = "aws:kms/key:Key"


@pytest.fixture(params=plans_of("aws"))
def aws_plan(request):
    return render_named(request.param)


def test_one_secret_per_catalog_group_named_under_the_environment_prefix(aws_plan):
    names = sorted(r["inputs"]["name"] for r in aws_plan.of_type(SECRET))
    assert names == sorted(f"{catalog.CATALOG.app.name}/{aws_plan.stack}/{g}" for g in {e.group for e in catalog.CATALOG})
    assert len(names) == len(set(names))


def test_no_secret_value_is_ever_declared(aws_plan):
    types = {r["type"] for r in aws_plan.resources}
    assert "aws:secretsmanager/secretVersion:SecretVersion" not in types
    for r in aws_plan.of_type(SECRET):
        assert not {"secretString", "secretBinary"} & set(r["inputs"])


def test_secrets_are_encrypted_with_the_stack_key_and_recoverable_for_the_configured_window(aws_plan):
    key_arn = aws_plan.outputs["awsKmsKeyArn"]
    for r in aws_plan.of_type(SECRET):
        assert r["inputs"]["kmsKeyId"] == key_arn
        assert r["inputs"]["recoveryWindowInDays"] == int(aws_plan.setting("awsRecoveryWindowDays")) >= 7


def _cluster_regions(plan) -> set[str]:
    """The regions the stack file puts its clusters in (the top-level awsRegion is the first's)."""
    return {plan.setting("awsRegion"), *(keys["awsRegion"] for keys in clusters_of(plan).values())}


def test_each_cluster_regions_key_rotates_and_keys_and_secrets_are_protected(aws_plan):
    keys = aws_plan.of_type(KEY)
    assert sorted(aws_region_of(aws_plan, k) for k in keys) == sorted(_cluster_regions(aws_plan))
    for key in keys:
        assert key["inputs"]["enableKeyRotation"] is True, key["name"]
        assert key["protect"] is True, key["name"]
    for r in aws_plan.of_type(SECRET):
        assert r["protect"] is True, r["name"]


def test_secrets_are_tagged_with_app_and_environment(aws_plan):
    for r in aws_plan.of_type(SECRET):
        assert r["inputs"]["tags"]["app"] == "aragora"
        assert r["inputs"]["tags"]["environment"] == aws_plan.stack


def test_every_regional_aws_provider_refuses_credentials_of_any_other_account(aws_plan):
    providers = aws_plan.of_type("pulumi:providers:aws")
    assert _cluster_regions(aws_plan) <= {p["inputs"]["region"] for p in providers}
    for provider in providers:
        assert json.loads(provider["inputs"]["allowedAccountIds"]) == [aws_plan.setting("awsAccountId")], provider["name"]
    # Every AWS resource goes through one of them, never through a default provider.
    urns = {p["urn"] for p in providers}
    for r in aws_plan.resources:
        if r["type"].startswith("aws:"):
            assert r["provider"].rsplit("::", 1)[0] in urns, r["name"]


@pytest.mark.parametrize("name", plans_of("aws"))
def test_recovery_window_follows_config(name):
    plan = render_named(name, awsRecoveryWindowDays=7)
    assert {r["inputs"]["recoveryWindowInDays"] for r in plan.of_type(SECRET)} == {7}

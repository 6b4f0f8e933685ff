"""Secrets Manager containers: empty, encrypted with the environment's own key, protected."""

from __future__ import annotations

import json

from infra import catalog

SECRET = "aws:secretsmanager/secret:Secret"
KEY = "aws:kms/key:Key"


def test_one_secret_per_catalog_group_named_under_the_environment_prefix(stack_plan):
    names = sorted(r["inputs"]["name"] for r in stack_plan.of_type(SECRET))
    assert names == sorted(f"aragora/{stack_plan.stack}/{g}" for g in {e.group for e in catalog.CATALOG})
    assert names == sorted(f"aragora/{stack_plan.stack}/{g}" for g in ("api-keys", "auth", "billing", "database"))


def test_no_secret_value_is_ever_declared(stack_plan):
    types = {r["type"] for r in stack_plan.resources}
    assert "aws:secretsmanager/secretVersion:SecretVersion" not in types
    for r in stack_plan.of_type(SECRET):
        assert not {"secretString", "secretBinary"} & set(r["inputs"])


def test_secrets_are_encrypted_with_the_stack_key_and_recoverable_for_30_days(stack_plan):
    key_arn = stack_plan.outputs["awsKmsKeyArn"]
    for r in stack_plan.of_type(SECRET):
        assert r["inputs"]["kmsKeyId"] == key_arn
        assert r["inputs"]["recoveryWindowInDays"] == 30


def test_key_rotates_and_key_and_secrets_are_protected(stack_plan):
    key = stack_plan.one(KEY)
    assert key["inputs"]["enableKeyRotation"] is True
    assert key["protect"] is True
    for r in stack_plan.of_type(SECRET):
        assert r["protect"] is True, r["name"]


def test_secrets_are_tagged_with_app_and_environment(stack_plan):
    for r in stack_plan.of_type(SECRET):
        assert r["inputs"]["tags"]["app"] == "aragora"
        assert r["inputs"]["tags"]["environment"] == stack_plan.stack


def test_aws_provider_refuses_credentials_of_any_other_account(stack_plan):
    from tests.conftest import stack_file_value

    provider = stack_plan.one("pulumi:providers:aws")
    assert json.loads(provider["inputs"]["allowedAccountIds"]) == [stack_file_value(stack_plan.stack, "awsAccountId")]
    for r in stack_plan.resources:
        if r["type"].startswith("aws:"):
            assert r["provider"].startswith(provider["urn"] + "::"), r["name"]


def test_recovery_window_follows_config():
    from tests.conftest import render

    plan = render("staging", awsRecoveryWindowDays=7)
    assert {r["inputs"]["recoveryWindowInDays"] for r in plan.of_type(SECRET)} == {7}

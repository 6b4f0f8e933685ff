"""Staging and production never reference each other."""

from __future__ import annotations

import json

import pytest

from tests.conftest import render, stack_file_value

OTHER = {"staging": "production", "production": "staging"}


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_a_stack_never_names_the_other_environments_account_prefix_or_cluster(stack):
    other = OTHER[stack]
    rendered = json.dumps(render(stack).resources) + json.dumps(render(stack).outputs)
    for needle in (
        stack_file_value(other, "awsAccountId"),
        stack_file_value(other, "awsOidcProviderArn"),
        stack_file_value(other, "kubeContext"),
        f"aragora/{other}/",
        f"aragora-{other}",
    ):
        assert needle not in rendered, needle


def test_the_two_environments_use_different_accounts_keys_and_roles():
    s, p = render("staging"), render("production")
    assert stack_file_value("staging", "awsAccountId") != stack_file_value("production", "awsAccountId")
    for output in ("awsKmsKeyArn", "awsRoleArn"):
        assert s.outputs[output] != p.outputs[output]
    assert not set(s.outputs["awsSecretArns"].values()) & set(p.outputs["awsSecretArns"].values())


def test_staging_role_cannot_read_production_secrets():
    s, p = render("staging"), render("production")
    staging_grant = json.loads(s.one("aws:iam/policy:Policy")["inputs"]["policy"])["Statement"][0]["Resource"]
    prefix = staging_grant.removesuffix("*")
    assert staging_grant.endswith("/*")
    for arn in p.outputs["awsSecretArns"].values():
        assert not arn.startswith(prefix), arn
    for arn in s.outputs["awsSecretArns"].values():
        assert arn.startswith(prefix), arn

"""No environment references another: checked pairwise over every stack file of a set
(the project's own, and each example directory's), whatever the environments are called."""

from __future__ import annotations

import itertools
import json

import pytest

from tests.support import SETS, configured, render

PAIRS = [
    pytest.param(a, b, id=f"{set_name}:{a[0]}-vs-{b[0]}")
    for set_name, stacks in SETS.items()
    for a, b in itertools.permutations(stacks.values(), 2)
]
AWS_PAIRS = [
    p
    for p in PAIRS
    if all(configured(stack, "backend", config_file) == "aws" for stack, config_file in p.values[:2])
]
# Keys whose value identifies one environment's account, cluster or location.
IDENTIFYING = ("awsAccountId", "awsOidcProviderArn", "kubeContext", "gcpProject", "vaultAddress", "gcpClusterName")


def test_there_is_at_least_one_pair_of_environments_to_compare():
    assert PAIRS and AWS_PAIRS


@pytest.mark.parametrize(("own", "other"), PAIRS)
def test_a_stack_never_names_another_environments_identity_prefix_or_cluster(own, other):
    mine, theirs = render(*own), render(*other)
    rendered = json.dumps(mine.resources) + json.dumps(mine.outputs)
    needles = [f"aragora/{theirs.stack}/", f"aragora-{theirs.stack}-"]
    for key in IDENTIFYING:
        value = theirs.config.get(f"aragora-secrets:{key}", "")
        if value and value != mine.config.get(f"aragora-secrets:{key}"):
            needles.append(value)
    for needle in needles:
        assert needle not in rendered, needle


@pytest.mark.parametrize(("own", "other"), AWS_PAIRS)
def test_two_aws_environments_use_different_accounts_keys_roles_and_secrets(own, other):
    a, b = render(*own), render(*other)
    assert a.setting("awsAccountId") != b.setting("awsAccountId")
    for output in ("awsKmsKeyArn", "awsRoleArn"):
        assert a.outputs[output] != b.outputs[output]
    assert not set(a.outputs["awsSecretArns"].values()) & set(b.outputs["awsSecretArns"].values())


@pytest.mark.parametrize(("own", "other"), AWS_PAIRS)
def test_one_environments_role_cannot_read_anothers_secrets(own, other):
    mine, theirs = render(*own), render(*other)
    grant = json.loads(mine.one("aws:iam/policy:Policy")["inputs"]["policy"])["Statement"][0]["Resource"]
    assert grant.endswith(f"aragora/{mine.stack}/*")
    prefix = grant.removesuffix("*")
    for arn in theirs.outputs["awsSecretArns"].values():
        assert not arn.startswith(prefix), arn
    for arn in mine.outputs["awsSecretArns"].values():
        assert arn.startswith(prefix), arn

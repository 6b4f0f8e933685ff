"""AwsRotation built alone: rotation schedules for the given Lambdas, Config rules scoped by the given tags."""

from __future__ import annotations

import json

from components.aws.rotation import AwsRotation, AwsRotationArgs
from tests.unit.harness import declare

ARNS = {"g1": "arn:aws:secretsmanager:eu-west-1:1:secret:x/g1-a", "g2": "arn:aws:secretsmanager:eu-west-1:1:secret:x/g2-b"}
LAMBDA = "arn:aws:lambda:eu-west-1:111122223333:function:rotate"


def _plan(**more):
    args = AwsRotationArgs(
        rule_name_prefix="app-unit-secrets", secret_arns=ARNS, max_age_days={"g1": 30, "g2": 90},
        scope_tag=("env", "unit"), group_tag_key="example.org/group", **more,
    )
    return declare(lambda: AwsRotation("rot", args))


def test_only_groups_with_a_lambda_are_rotated_at_their_max_age_and_not_during_the_up():
    (rotation,) = _plan(lambda_arns={"g1": LAMBDA}).of_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert rotation["name"] == "rot-g1"
    inputs = rotation["inputs"]
    assert (inputs["secretId"], inputs["rotationLambdaArn"], inputs["rotateImmediately"]) == (ARNS["g1"], LAMBDA, False)
    assert inputs["rotationRules"] == {"automaticallyAfterDays": 30}


def test_config_rules_check_each_groups_age_and_the_key_scoped_to_the_given_tags():
    plan = _plan(config_rules=True, kms_key_arn="arn:aws:kms:eu-west-1:1:key/k")
    rules = {r["inputs"]["name"]: r["inputs"] for r in plan.of_type("aws:cfg/rule:Rule")}
    assert set(rules) == {
        "app-unit-secrets-periodic-rotation-g1", "app-unit-secrets-periodic-rotation-g2", "app-unit-secrets-unused", "app-unit-secrets-using-cmk",
    }
    g2 = rules["app-unit-secrets-periodic-rotation-g2"]
    assert json.loads(g2["inputParameters"]) == {"maxDaysSinceRotation": "90"}
    assert (g2["scope"]["tagKey"], g2["scope"]["tagValue"]) == ("example.org/group", "g2")
    assert (rules["app-unit-secrets-unused"]["scope"]["tagKey"], rules["app-unit-secrets-unused"]["scope"]["tagValue"]) == ("env", "unit")
    assert json.loads(rules["app-unit-secrets-using-cmk"]["inputParameters"]) == {"kmsKeyArns": "arn:aws:kms:eu-west-1:1:key/k"}


def test_without_lambdas_or_rules_nothing_is_declared():
    plan = _plan()
    assert [r for r in plan.resources if r["custom"]] == []

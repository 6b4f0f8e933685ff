"""Rotation schedules from the catalog's rotation policy, per backend."""

from __future__ import annotations

import json

import pytest

from infra import catalog
from tests.support import PLANS, STACKS, configured, plans_of, render, render_named

LAMBDA = "arn:aws:lambda:{region}:{account}:function:rotate-db"


def test_every_catalog_value_has_a_rotation_policy_with_a_reasoned_default():
    for e in catalog.CATALOG:
        assert 1 <= e.rotation.max_age_days <= 365 and e.rotation.mode in catalog.RotationMode
    by_var = {e.env_var: e.rotation for e in catalog.CATALOG}
    assert by_var["DATABASE_URL"] == catalog.DATABASE_CREDENTIALS and by_var["DATABASE_URL"].mode is catalog.RotationMode.AUTOMATIC
    assert by_var["ARAGORA_JWT_SECRET"] == catalog.SESSION_KEY
    assert by_var["STRIPE_WEBHOOK_SECRET"].max_age_days > by_var["OPENAI_API_KEY"].max_age_days > by_var["DATABASE_URL"].max_age_days


@pytest.mark.parametrize("name", plans_of("aws"))
def test_a_group_with_a_rotation_lambda_rotates_every_strictest_max_age_of_its_values(name):
    plan = render_named(name)
    arn = LAMBDA.format(region=plan.setting("awsRegion"), account=plan.setting("awsAccountId"))
    plan = render_named(name, awsRotationLambdaArns=[f"database={arn}"])
    (rotation,) = plan.of_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert rotation["inputs"]["rotationLambdaArn"] == arn
    assert rotation["inputs"]["rotationRules"] == {"automaticallyAfterDays": catalog.CATALOG.max_age_days("database")}
    assert rotation["inputs"]["secretId"] == plan.outputs["awsSecretArns"]["database"]


def test_shipped_production_like_stacks_check_rotation_age_cmk_and_unused_secrets_with_aws_config():
    shipped = [s for s in STACKS if render(s).setting("awsConfigRules") == "true"]
    assert shipped
    for stack in shipped:
        plan = render(stack)
        rules = {r["inputs"]["source"]["sourceIdentifier"]: r["inputs"] for r in plan.of_type("aws:cfg/rule:Rule")}
        periodic = [r for r in plan.of_type("aws:cfg/rule:Rule") if r["inputs"]["source"]["sourceIdentifier"] == "SECRETSMANAGER_SECRET_PERIODIC_ROTATION"]
        assert {r["inputs"]["scope"]["tagValue"]: json.loads(r["inputs"]["inputParameters"])["maxDaysSinceRotation"] for r in periodic} == {
            g: str(catalog.CATALOG.max_age_days(g)) for g in catalog.CATALOG.by_group
        }
        assert json.loads(rules["SECRETSMANAGER_USING_CMK"]["inputParameters"]) == {"kmsKeyArns": plan.outputs["awsKmsKeyArn"]}
        assert rules["SECRETSMANAGER_SECRET_UNUSED"]["scope"]["tagValue"] == stack


def test_a_rotation_lambda_for_an_unknown_group_or_another_account_is_refused():
    from infra.fields import ConfigError

    name = plans_of("aws")[0]
    plan = render_named(name)
    arn = LAMBDA.format(region=plan.setting("awsRegion"), account=plan.setting("awsAccountId"))
    with pytest.raises(ConfigError, match="awsRotationLambdaArns: .*names no catalog group"):
        render_named(name, awsRotationLambdaArns=[f"nosuchgroup={arn}"])
    with pytest.raises(ConfigError, match="awsRotationLambdaArns: .*not a Lambda of this account"):
        render_named(name, awsRotationLambdaArns=[f"database={arn.replace(plan.setting('awsAccountId'), '999999999999')}"])


@pytest.mark.parametrize("name", plans_of("gcp"))
def test_gcp_secrets_rotate_on_their_max_age_and_notify_a_topic_the_service_agent_may_publish_to(name):
    stack, path = PLANS[name]
    # The stack's own number if it has one, else one no other stack gives another project.
    number = configured(stack, "gcpProjectNumber", path) or str(100000000000 + sum(map(ord, stack)))
    plan = render(stack, path, gcpRotationStart="2027-01-04T09:00:00Z", gcpProjectNumber=number)
    (topic,) = plan.of_type("gcp:pubsub/topic:Topic")
    (grant,) = plan.of_type("gcp:pubsub/topicIAMMember:TopicIAMMember")
    assert grant["inputs"]["role"] == "roles/pubsub.publisher"
    assert grant["inputs"]["member"] == f"serviceAccount:service-{number}@gcp-sa-secretmanager.iam.gserviceaccount.com"
    by_slug = {e.slug: e for e in catalog.CATALOG}
    for secret in plan.of_type("gcp:secretmanager/secret:Secret"):
        slug = secret["inputs"]["labels"]["aragora-secret"]
        assert secret["inputs"]["rotation"] == {"rotationPeriod": f"{by_slug[slug].rotation.max_age_days * 86400}s", "nextRotationTime": "2027-01-04T09:00:00Z"}
        assert len(secret["inputs"]["topics"]) == 1 and grant["urn"] in secret["depends_on"]
    assert not render(stack, path).of_type("gcp:pubsub/topic:Topic")


@pytest.mark.parametrize("name", plans_of("vault"))
def test_the_vault_kv_mount_keeps_history_by_count_refuses_blind_writes_and_never_expires_the_current_value(name):
    settings = render_named(name).one("vault:kv/secretBackendV2:SecretBackendV2")["inputs"]
    assert settings["casRequired"] is True and settings["maxVersions"] >= 2
    # delete_version_after would also expire the current version of a value not rewritten in time.
    assert settings.get("deleteVersionAfter", 0) == 0

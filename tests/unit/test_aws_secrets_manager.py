"""AwsSecretsManager built alone: its key and empty secrets from explicit arguments."""

from __future__ import annotations

import json

from components.aws.secrets_manager import AwsSecretsManager, AwsSecretsManagerArgs
from tests.unit.harness import declare

ADMIN = "arn:aws-us-gov:iam::123456789012:role/key-admin"
# What KMS computes for a created key: its ARN.
COMPUTED = {"aws:kms/key:Key": lambda name, inputs: {"arn": f"arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/{name}"}}


def _plan(admins: tuple[str, ...] = ()):
    return declare(
        lambda: AwsSecretsManager(
            "sm",
            AwsSecretsManagerArgs(
                subject="App unit",
                kms_alias="alias/app-unit-keys",
                name_prefix="app/unit/",
                secrets={"alpha": "first", "beta": "second"},
                partition="aws-us-gov",
                account_id="123456789012",
                region="us-gov-west-1",
                recovery_window_days=9,
                kms_admin_arns=admins,
                group_tag_key="example.org/group",
                tags={"t": "v"},
            ),
        ),
        computed=COMPUTED,
    )


def _key_policy(plan) -> dict:
    return {s["Sid"]: s for s in json.loads(plan.one("aws:kms/key:Key")["inputs"]["policy"])["Statement"]}


def test_one_protected_secret_per_key_under_the_prefix_encrypted_with_the_key():
    plan = _plan()
    key = plan.one("aws:kms/key:Key")
    secrets = {r["name"]: r for r in plan.of_type("aws:secretsmanager/secret:Secret")}
    assert set(secrets) == {"sm-alpha", "sm-beta"}
    for short, r in (("alpha", secrets["sm-alpha"]), ("beta", secrets["sm-beta"])):
        assert r["inputs"]["name"] == f"app/unit/{short}"
        assert r["inputs"]["recoveryWindowInDays"] == 9
        assert r["inputs"]["tags"] == {"t": "v", "example.org/group": short}
        assert r["protect"] is True
        assert r["inputs"]["kmsKeyId"] == "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/sm-kms-key"
    assert key["protect"] is True and key["inputs"]["enableKeyRotation"] is True


def test_the_alias_is_the_given_one_and_no_value_is_declared():
    plan = _plan()
    assert plan.one("aws:kms/alias:Alias")["inputs"]["name"] == "alias/app-unit-keys"
    assert plan.of_type("aws:secretsmanager/secretVersion:SecretVersion") == []


def test_without_named_administrators_the_account_administers_and_nobody_is_denied():
    policy = _key_policy(_plan())
    root = "arn:aws-us-gov:iam::123456789012:root"
    assert policy["KeyAdministration"]["Principal"] == {"AWS": [root]}
    assert policy["AccountCanAlwaysRecoverThePolicy"]["Principal"] == {"AWS": root}
    assert "AdministratorsNeverDecrypt" not in policy


def test_named_administrators_administer_are_denied_decrypt_and_use_goes_through_secrets_manager_only():
    policy = _key_policy(_plan((ADMIN,)))
    admin = policy["KeyAdministration"]
    assert admin["Principal"] == {"AWS": [ADMIN]}
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom"} & set(admin["Action"])
    assert policy["AdministratorsNeverDecrypt"] == {
        "Sid": "AdministratorsNeverDecrypt", "Effect": "Deny", "Principal": {"AWS": [ADMIN]}, "Action": "kms:Decrypt", "Resource": "*",
    }
    use = policy["UseOnlyThroughSecretsManagerInThisAccount"]
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-gov-west-1.amazonaws.com", "kms:CallerAccount": "123456789012"}}

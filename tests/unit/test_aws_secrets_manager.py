"""AwsSecretsManager built alone: its key and empty secrets from known args."""

from __future__ import annotations

from infra.backends.aws.secrets_manager import AwsSecretsManager, AwsSecretsManagerArgs
from stacktools.recorder import declare


def _plan():
    return declare(
        lambda: AwsSecretsManager(
            "sm",
            AwsSecretsManagerArgs(
                environment="unit",
                name_prefix="aragora/unit/",
                secrets={"alpha": "first", "beta": "second"},
                recovery_window_days=9,
                tags={"t": "v"},
            ),
        )
    )


def test_one_protected_secret_per_key_under_the_prefix_encrypted_with_the_key():
    plan = _plan()
    key = plan.one("aws:kms/key:Key")
    secrets = {r["name"]: r for r in plan.of_type("aws:secretsmanager/secret:Secret")}
    assert set(secrets) == {"sm-alpha", "sm-beta"}
    for short, r in (("alpha", secrets["sm-alpha"]), ("beta", secrets["sm-beta"])):
        assert r["inputs"]["name"] == f"aragora/unit/{short}"
        assert r["inputs"]["recoveryWindowInDays"] == 9
        assert r["inputs"]["tags"] == {"t": "v", "aragora.io/secret-group": short}
        assert r["protect"] is True
        assert r["inputs"]["kmsKeyId"].startswith("arn:aws:kms:")
    assert key["protect"] is True and key["inputs"]["enableKeyRotation"] is True


def test_the_alias_names_the_environment_and_no_value_is_declared():
    plan = _plan()
    assert plan.one("aws:kms/alias:Alias")["inputs"]["name"] == "alias/aragora-unit-secrets"
    assert plan.of_type("aws:secretsmanager/secretVersion:SecretVersion") == []

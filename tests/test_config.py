"""Bad config fails before any resource is declared, in one line that names the key."""

from __future__ import annotations

import pytest

from infra import config, plan
from infra.config import ConfigError

GOOD = plan.stack_config("staging")


def _raw(**changes) -> dict[str, str]:
    raw = config.project_keys(GOOD)
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


BAD = [
    # (case id, changes, key named, words the message must carry)
    ("unknown-backend", {"backend": "azure"}, "backend", "aws"),
    ("environment-not-the-stack", {"environment": "production"}, "environment", "staging"),
    ("environment-unknown", {"environment": "dev"}, "environment", "staging, production"),
    ("oidc-arn-malformed", {"awsOidcProviderArn": "arn:aws:iam::111122223333:role/x"}, "awsOidcProviderArn", "oidc-provider"),
    ("oidc-arn-with-https", {"awsOidcProviderArn": "arn:aws:iam::111122223333:oidc-provider/https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"}, "awsOidcProviderArn", "oidc-provider"),
    ("oidc-arn-other-account", {"awsOidcProviderArn": "arn:aws:iam::444455556666:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"}, "awsOidcProviderArn", "awsAccountId"),
    ("oidc-arn-other-region", {"awsOidcProviderArn": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"}, "awsOidcProviderArn", "awsRegion"),
    ("account-id-short", {"awsAccountId": "12345"}, "awsAccountId", "12 digits"),
    ("account-id-letters", {"awsAccountId": "11112222333a"}, "awsAccountId", "12 digits"),
    ("region-malformed", {"awsRegion": "us-east"}, "awsRegion", "us-east-1"),
    ("region-upper", {"awsRegion": "US-EAST-1"}, "awsRegion", "us-east-1"),
    ("refresh-not-duration", {"refreshInterval": "hourly"}, "refreshInterval", "Go duration"),
    ("refresh-under-1m", {"refreshInterval": "30s"}, "refreshInterval", "1m"),
    ("refresh-over-24h", {"refreshInterval": "48h"}, "refreshInterval", "24h"),
    ("refresh-no-unit", {"refreshInterval": "60"}, "refreshInterval", "Go duration"),
    ("missing-environment", {"environment": None}, "environment", "missing"),
    ("missing-kube-context", {"kubeContext": None}, "kubeContext", "missing"),
    ("empty-region-for-aws", {"awsRegion": ""}, "awsRegion", "missing"),
    ("empty-account-for-aws", {"awsAccountId": ""}, "awsAccountId", "missing"),
    ("empty-oidc-for-irsa", {"awsOidcProviderArn": ""}, "awsOidcProviderArn", "irsa"),
    ("pod-identity-without-cluster", {"awsIdentity": "pod-identity"}, "awsEksClusterName", "pod-identity"),
    ("unknown-identity", {"awsIdentity": "keys"}, "awsIdentity", "irsa"),
    ("unknown-key", {"awsRegoin": "us-east-1"}, "awsRegoin", "unknown key"),
    ("chart-range", {"esoChartVersion": "^2.9.0"}, "esoChartVersion", "X.Y.Z"),
    ("chart-dead-0x", {"esoChartVersion": "0.9.13"}, "esoChartVersion", "2.x"),
    ("replicas-zero", {"esoReplicas": "0"}, "esoReplicas", "1"),
    ("replicas-not-int", {"esoReplicas": "two"}, "esoReplicas", "integer"),
    ("recovery-window-too-short", {"awsRecoveryWindowDays": "3"}, "awsRecoveryWindowDays", "7"),
    ("jwt-rotation-not-label", {"jwtRotation": "Next Tuesday!"}, "jwtRotation", "label"),
    ("bootstrap-not-bool", {"bootstrap": "perhaps"}, "bootstrap", "boolean"),
    ("kube-context-with-space", {"kubeContext": "my cluster"}, "kubeContext", "context"),
]


@pytest.mark.parametrize(("changes", "key", "words"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_config_is_rejected_with_the_key_named(changes, key, words):
    with pytest.raises(ConfigError) as err:
        config.parse(_raw(**changes), "staging")
    message = str(err.value)
    assert message.startswith(f"aragora-secrets:{key}:"), message
    assert words in message, message
    assert "\n" not in message


def test_bad_value_is_quoted_in_the_message():
    with pytest.raises(ConfigError, match=r"'us-east'"):
        config.parse(_raw(awsRegion="us-east"), "staging")


def test_shipped_stacks_parse_into_typed_settings():
    for stack in ("staging", "production"):
        cfg = config.parse(config.project_keys(plan.stack_config(stack)), stack)
        assert cfg.environment == stack
        assert cfg.backend is config.Backend.AWS
        assert cfg.aws is not None and cfg.aws.oidc_issuer.startswith("oidc.eks.us-east-1.amazonaws.com/id/")


@pytest.mark.parametrize(("text", "seconds"), [("1m", 60), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400), ("24h", 86400)])
def test_go_durations_parse_as_eso_reads_them(text, seconds):
    assert config.go_duration_seconds(text) == seconds


def test_config_error_is_reported_by_the_language_host_without_a_traceback():
    import pulumi

    assert issubclass(ConfigError, pulumi.RunError)

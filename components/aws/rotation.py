"""Rotation of one environment's secrets on AWS, from the catalog's rotation policy.

Owns: a ``SecretRotation`` for every grouped secret whose rotation Lambda is
configured (``awsRotationLambdaArns``: every ``max_age_days`` of the group's
strictest value), and, opt-in (``awsConfigRules``), three AWS Config managed
rules scoped to this environment's secrets by tag: rotated within the
catalog's maximum age, encrypted with this stack's key, and not unused.
Does not own: the Lambda (e.g. AWS's SecretsManagerRDSPostgreSQLRotation...
template, or RDS managed rotation, docs/operations.md), the account's Config recorder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

# A secret nobody read for this long is a leftover; AWS's own default.
UNUSED_DAYS = 90


@dataclass(frozen=True)
class AwsRotationArgs:
    rule_name_prefix: str
    """AWS Config rule names start with it, e.g. ``aragora-staging-secrets``."""
    secret_arns: Mapping[str, pulumi.Input[str]]
    """Group -> secret ARN."""
    max_age_days: Mapping[str, int]
    """Group -> the strictest maximum age of its values (the catalog)."""
    scope_tag: tuple[str, str]
    """``(key, value)`` of the tag every secret of this environment carries: the Config rules' scope."""
    group_tag_key: str = "secret-group"
    """Tag naming each secret's group: the per-group age rule scopes on it."""
    lambda_arns: Mapping[str, str] = field(default_factory=dict)
    """Group -> rotation Lambda ARN; groups without one are rotated by hand."""
    config_rules: bool = False
    kms_key_arn: pulumi.Input[str] | None = None


class AwsRotation(pulumi.ComponentResource):
    """Rotation schedules and compliance rules of one environment's secrets."""

    def __init__(self, name: str, args: AwsRotationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:aws:AwsRotation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        for group, lambda_arn in args.lambda_arns.items():
            aws.secretsmanager.SecretRotation(
                f"{name}-{group}",
                secret_id=args.secret_arns[group],
                rotation_lambda_arn=lambda_arn,
                rotation_rules={"automatically_after_days": args.max_age_days[group]},
                # The first rotation runs at the next window, not during the up.
                rotate_immediately=False,
                opts=child,
            )
        if args.config_rules:
            # A Config rule's scope takes one tag: the environment, or (for the
            # per-group maximum age) the group.
            tag_key, tag_value = args.scope_tag
            scope = {"compliance_resource_types": ["AWS::SecretsManager::Secret"], "tag_key": tag_key, "tag_value": tag_value}
            for group, days in args.max_age_days.items():
                aws.cfg.Rule(
                    f"{name}-periodic-rotation-{group}",
                    name=f"{args.rule_name_prefix}-periodic-rotation-{group}",
                    source={"owner": "AWS", "source_identifier": "SECRETSMANAGER_SECRET_PERIODIC_ROTATION"},
                    input_parameters=json.dumps({"maxDaysSinceRotation": str(days)}),
                    scope={**scope, "tag_key": args.group_tag_key, "tag_value": group},
                    opts=child,
                )
            aws.cfg.Rule(
                f"{name}-unused",
                name=f"{args.rule_name_prefix}-unused",
                source={"owner": "AWS", "source_identifier": "SECRETSMANAGER_SECRET_UNUSED"},
                input_parameters=json.dumps({"unusedForDays": str(UNUSED_DAYS)}),
                scope=scope,
                opts=child,
            )
            aws.cfg.Rule(
                f"{name}-using-cmk",
                name=f"{args.rule_name_prefix}-using-cmk",
                source={"owner": "AWS", "source_identifier": "SECRETSMANAGER_USING_CMK"},
                input_parameters=pulumi.Output.from_input(args.kms_key_arn).apply(lambda arn: json.dumps({"kmsKeyArns": arn})),
                scope=scope,
                opts=child,
            )
        self.register_outputs({})

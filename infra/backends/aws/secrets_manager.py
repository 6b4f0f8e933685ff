"""AWS Secrets Manager containers for one environment, encrypted with its own key.

Owns: a customer-managed KMS key (rotation on) and its alias, and one empty
Secrets Manager secret per grouped name. The secrets never get a
``SecretVersion`` from this project: operators write values with
``aws secretsmanager put-secret-value``, so no value passes through git or
Pulumi state.
Does not own: who may read the secrets (``eso_identity``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AwsSecretsManagerArgs:
    environment: str
    name_prefix: str
    """Every secret name starts with this (``aragora/<env>/``); IAM grants on it."""
    secrets: Mapping[str, str]
    """Stable key (names the Pulumi resource) -> description. Name = prefix + key."""
    recovery_window_days: int
    tags: Mapping[str, str]


class AwsSecretsManager(pulumi.ComponentResource):
    """The KMS key and the (empty) secrets of one environment; all protected."""

    kms_key_arn: pulumi.Output[str]
    secret_arns: dict[str, pulumi.Output[str]]
    secret_names: dict[str, str]

    def __init__(self, name: str, args: AwsSecretsManagerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:aws:AwsSecretsManager", name, None, opts)
        # Deleting the key or a secret destroys every value in it; a stack
        # change must never do that by accident.
        stateful = pulumi.ResourceOptions(parent=self, protect=True)

        key = aws.kms.Key(
            f"{name}-kms-key",
            description=f"Encrypts Aragora {args.environment} secrets in Secrets Manager",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=dict(args.tags),
            opts=stateful,
        )
        aws.kms.Alias(
            f"{name}-kms-alias",
            name=f"alias/aragora-{args.environment}-secrets",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.secret_names = {}
        self.secret_arns = {}
        for key_name, description in args.secrets.items():
            secret_name = f"{args.name_prefix}{key_name}"
            secret = aws.secretsmanager.Secret(
                f"{name}-{key_name}",
                name=secret_name,
                description=description,
                kms_key_id=key.arn,
                recovery_window_in_days=args.recovery_window_days,
                tags={**args.tags, "aragora.io/secret-group": key_name},
                opts=stateful,
            )
            self.secret_names[key_name] = secret_name
            self.secret_arns[key_name] = secret.arn

        self.kms_key_arn = key.arn
        self.register_outputs({"kms_key_arn": self.kms_key_arn, "secret_arns": self.secret_arns})

"""AWS Secrets Manager containers for one environment, encrypted with its own key.

Owns: a customer-managed KMS key (rotation on, explicit key policy: its
administrators cannot decrypt, anyone else uses it only through Secrets
Manager in this account) and its alias, and one empty
Secrets Manager secret per grouped name. The secrets never get a
``SecretVersion`` from this project: operators write values with
``aws secretsmanager put-secret-value``, so no value passes through git or
Pulumi state.
Does not own: who may read the secrets (``eso_identity``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

# What administering the key takes, and nothing that reads or writes data with it.
KEY_ADMIN_ACTIONS = (
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:EnableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
)
# Secrets Manager encrypts a new value (GenerateDataKey) and decrypts a read
# (Decrypt) on the caller's behalf; it needs nothing else of the key.
KEY_USE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")


def key_policy_document(partition: str, account_id: str, region: str, admin_arns: Sequence[str] = ()) -> dict:
    """The key's own policy: administration apart from use, no lockout.

    - the account root may always read and replace the policy, so no mistake
      (or deleted admin role) locks the account out of its own key;
    - the administrators (``admin_arns``; else the account, through IAM
      policies) administer it and are denied ``kms:Decrypt``;
    - use is delegated to this account's IAM policies (principal: the account
      root, not ``*``: with ``*`` any role of the account could decrypt any
      environment's key through Secrets Manager, IAM grant or not), and only
      through Secrets Manager in this region (``kms:ViaService``,
      ``kms:CallerAccount``); ESO's role is granted its own key only.
    """
    root = f"arn:{partition}:iam::{account_id}:root"
    admins = list(admin_arns) or [root]
    statements: list[dict] = [
        {
            "Sid": "AccountCanAlwaysRecoverThePolicy",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy"],
            "Resource": "*",
        },
        {
            "Sid": "KeyAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": admins},
            "Action": list(KEY_ADMIN_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "UseOnlyThroughSecretsManagerInThisAccount",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": list(KEY_USE_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                    "kms:CallerAccount": account_id,
                }
            },
        },
    ]
    if admin_arns:
        statements.append(
            {
                "Sid": "AdministratorsNeverDecrypt",
                "Effect": "Deny",
                "Principal": {"AWS": list(admin_arns)},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


@dataclass(frozen=True)
class AwsSecretsManagerArgs:
    subject: str
    """Whose secrets these are, for descriptions, e.g. ``Aragora staging``."""
    kms_alias: str
    """The key's alias, e.g. ``alias/aragora-staging-secrets``."""
    name_prefix: str
    """Every secret name starts with this (``aragora/<env>/``); IAM grants on it."""
    secrets: Mapping[str, str]
    """Stable key (names the Pulumi resource) -> description. Name = prefix + key."""
    partition: str
    account_id: str
    region: str
    """Where the key policy lets Secrets Manager use the key."""
    recovery_window_days: int = 30
    """How long a deleted secret can still be restored (Secrets Manager: 7..30)."""
    kms_admin_arns: Sequence[str] = ()
    """Who administers the key (and is denied Decrypt); empty: the account, through IAM."""
    group_tag_key: str = "secret-group"
    """Tag naming each secret's stable key: AWS Config rules scope on it."""
    tags: Mapping[str, str] = field(default_factory=dict)
    replicas: Mapping[str, pulumi.ProviderResource] = field(default_factory=dict)
    """Region -> an AWS provider of that region: every secret is replicated there, the replica
    encrypted by a key of that region's own (a key per region: see the class docstring)."""


class AwsSecretsManager(pulumi.ComponentResource):
    """The KMS key and the (empty) secrets of one environment; all protected.

    With ``replicas``, each secret is replicated (Secrets Manager ``replicas``) to every listed
    region, and each replica is encrypted by a customer-managed key in its own region, created
    here with the same strict policy (decrypt only through Secrets Manager in that region). A key
    per region, not a multi-Region primary with ``aws.kms.ReplicaKey``: ``multiRegion`` is fixed
    when a key is created, so making the existing single-Region key multi-Region would replace it
    (and lose every value it encrypts); a key per region adds a region without touching it.
    Rotation stays with the primary: Secrets Manager rotates the primary and copies to replicas.
    """

    kms_key_arn: pulumi.Output[str]
    replica_kms_key_arns: dict[str, pulumi.Output[str]]
    """Region -> the key that encrypts the replicas there."""
    secret_arns: dict[str, pulumi.Output[str]]
    secret_names: dict[str, str]

    def _key(
        self, name: str, suffix: str, description: str, region: str, args: AwsSecretsManagerArgs, provider: pulumi.ProviderResource | None = None
    ) -> aws.kms.Key:
        """A protected, rotating customer-managed key for ``region`` (its policy decrypts only via Secrets
        Manager there) and the environment's alias for it."""
        where = pulumi.ResourceOptions(parent=self, provider=provider)
        key = aws.kms.Key(
            f"{name}-kms-key{suffix}",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps(key_policy_document(args.partition, args.account_id, region, args.kms_admin_arns)),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions.merge(where, pulumi.ResourceOptions(protect=True)),
        )
        aws.kms.Alias(f"{name}-kms-alias{suffix}", name=args.kms_alias, target_key_id=key.key_id, opts=where)
        return key

    def __init__(self, name: str, args: AwsSecretsManagerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:aws:AwsSecretsManager", name, None, opts)
        # Deleting the key or a secret destroys every value in it; a stack
        # change must never do that by accident.
        stateful = pulumi.ResourceOptions(parent=self, protect=True)

        key = self._key(name, "", f"Encrypts {args.subject} secrets in Secrets Manager", args.region, args)
        # A key of its own in each replica region (a single-Region key can never become multi-Region):
        # aliases are regional too, so the same name finds the environment's key in every region.
        self.replica_kms_key_arns = {
            region: self._key(
                name, f"-{region}", f"Encrypts {args.subject} secret replicas in Secrets Manager in {region}", region, args, provider
            ).arn
            for region, provider in args.replicas.items()
        }
        replicas = [
            aws.secretsmanager.SecretReplicaArgs(region=region, kms_key_id=arn) for region, arn in self.replica_kms_key_arns.items()
        ]

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
                tags={**args.tags, args.group_tag_key: key_name},
                # Never overwrite a secret of the same name already in a replica region: fail instead.
                **({"replicas": replicas, "force_overwrite_replica_secret": False} if replicas else {}),
                opts=stateful,
            )
            self.secret_names[key_name] = secret_name
            self.secret_arns[key_name] = secret.arn

        self.kms_key_arn = key.arn
        self.register_outputs(
            {"kms_key_arn": self.kms_key_arn, "secret_arns": self.secret_arns}
            | ({"replica_kms_key_arns": self.replica_kms_key_arns} if self.replica_kms_key_arns else {})
        )

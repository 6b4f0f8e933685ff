"""Network isolation of one environment's secrets (opt-in: ``awsVpcEndpoints``).

Owns: the interface VPC endpoints for ``secretsmanager``, ``kms`` and ``sts``
in the cluster's VPC (mode ``create``; mode ``existing`` names endpoints the
network team runs), and on every secret a resource policy, with
``block_public_policy``, that denies reading or writing a value unless the
request comes through those endpoints. Exempt: AWS services acting for you,
and the named writer roles (operators, CI), so values can still be put from
outside the VPC.
Does not own: the VPC, its subnets or security groups, nor the secrets
(``secrets_manager``) or who may read them (``eso_identity``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

ENDPOINT_SERVICES = ("secretsmanager", "kms", "sts")
# Everything that reads a value or changes which value is served: a new value
# (PutSecretValue, UpdateSecret with SecretString), a moved AWSCURRENT label
# (UpdateSecretVersionStage), a rotation started by hand (RotateSecret).
# Metadata (DescribeSecret, TagResource) stays reachable for Pulumi.
DATA_ACTIONS = (
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:RotateSecret",
)


def secret_resource_policy(endpoint_ids: Sequence[str], writer_arns: Sequence[str]) -> dict:
    """Deny value reads and writes that do not come through ``endpoint_ids``.

    All conditions of the Deny must hold for it to apply: the request did not
    come through one of the endpoints, the caller is not an AWS service
    (nor a service acting for a principal), and it is not a named writer.
    """
    conditions: dict = {
        "StringNotEquals": {"aws:SourceVpce": list(endpoint_ids)},
        "Bool": {"aws:PrincipalIsAWSService": "false"},
        "BoolIfExists": {"aws:ViaAWSService": "false"},
    }
    if writer_arns:
        conditions["ArnNotEquals"] = {"aws:PrincipalArn": list(writer_arns)}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ValuesOnlyThroughTheClusterVpcEndpoints",
                "Effect": "Deny",
                "Principal": "*",
                "Action": list(DATA_ACTIONS),
                "Resource": "*",
                "Condition": conditions,
            }
        ],
    }


@dataclass(frozen=True)
class AwsNetworkIsolationArgs:
    name_prefix: str
    """The endpoints' ``Name`` tags start with it, e.g. ``aragora-staging``."""
    region: str
    secret_arns: Mapping[str, pulumi.Input[str]]
    """Stable key (names the policy resource) -> secret ARN."""
    vpc_id: str | None = None
    """Create the endpoints in this VPC (with the subnets and security groups below)."""
    subnet_ids: Sequence[str] = ()
    security_group_ids: Sequence[str] = ()
    existing_endpoint_ids: Sequence[str] = ()
    """Or name the Secrets Manager endpoints the network team already runs."""
    writer_arns: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.vpc_id is None) == (not self.existing_endpoint_ids):
            raise ValueError("AwsNetworkIsolationArgs: exactly one of vpc_id (create endpoints) and existing_endpoint_ids")
        if self.vpc_id is not None and not (self.subnet_ids and self.security_group_ids):
            raise ValueError("AwsNetworkIsolationArgs: creating endpoints needs subnet_ids and security_group_ids")


class AwsNetworkIsolation(pulumi.ComponentResource):
    """VPC endpoints and the secrets' resource policies of one environment."""

    secretsmanager_endpoint_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: AwsNetworkIsolationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:aws:AwsNetworkIsolation", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        if args.vpc_id is not None:
            endpoints = {
                service: aws.ec2.VpcEndpoint(
                    f"{name}-{service}",
                    vpc_id=args.vpc_id,
                    service_name=f"com.amazonaws.{args.region}.{service}",
                    vpc_endpoint_type="Interface",
                    subnet_ids=list(args.subnet_ids),
                    security_group_ids=list(args.security_group_ids),
                    private_dns_enabled=True,
                    tags={**args.tags, "Name": f"{args.name_prefix}-{service}"},
                    opts=child,
                )
                for service in ENDPOINT_SERVICES
            }
            ids: pulumi.Input[list[str]] = pulumi.Output.all(endpoints["secretsmanager"].id)
        else:
            ids = list(args.existing_endpoint_ids)

        for key, arn in args.secret_arns.items():
            aws.secretsmanager.SecretPolicy(
                f"{name}-{key}-policy",
                secret_arn=arn,
                policy=pulumi.Output.from_input(ids).apply(
                    lambda endpoint_ids: json.dumps(secret_resource_policy(endpoint_ids, args.writer_arns))
                ),
                # Secrets Manager refuses a policy that would open the secret broadly.
                block_public_policy=True,
                opts=child,
            )

        self.secretsmanager_endpoint_ids = pulumi.Output.from_input(ids)
        self.register_outputs({"secretsmanager_endpoint_ids": self.secretsmanager_endpoint_ids})

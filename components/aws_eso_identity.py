"""The AWS identity ESO uses to read one environment's secrets.

Owns: a least-privilege IAM policy (read the secrets under ``aragora/<env>/``,
decrypt with that environment's key only through Secrets Manager), an IAM role
trusted by exactly ESO's service account (IRSA) or by EKS Pod Identity, and
the Pod Identity association when that mode is chosen.
Does not own: the secrets or the key (``aws_secrets_manager``), the OIDC
provider (created with the cluster), nor the service-account annotation (the
caller passes ``irsa_annotations`` to the operator).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# GetSecretValue and DescribeSecret are all ESO's SecretsManager provider calls
# for `data[].remoteRef` reads. ListSecrets / BatchGetSecretValue are only for
# `dataFrom.find`, which this project does not use, and ListSecrets cannot be
# scoped below `*`.
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")


def secret_arn_pattern(partition: str, region: str, account_id: str, name_prefix: str) -> str:
    return f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{name_prefix}*"


def read_policy_document(secret_arn: str, kms_key_arn: str, region: str) -> dict:
    """Read-only access to one environment's secrets and its key, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadEnvironmentSecrets", "Effect": "Allow", "Action": list(SECRET_READ_ACTIONS), "Resource": secret_arn},
            {
                "Sid": "DecryptThroughSecretsManagerOnly",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
        ],
    }


def irsa_trust_policy(oidc_provider_arn: str, issuer: str, namespace: str, service_account: str) -> dict:
    """Only this cluster's token for ``namespace/service_account``, audience STS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def pod_identity_trust_policy(account_id: str, namespace: str, service_account: str) -> dict:
    """EKS Pod Identity, narrowed to this account and ESO's service account by session tags."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:SourceAccount": account_id,
                        "aws:RequestTag/kubernetes-namespace": namespace,
                        "aws:RequestTag/kubernetes-service-account": service_account,
                    }
                },
            }
        ],
    }


@dataclass(frozen=True)
class AwsEsoIdentityArgs:
    environment: str
    partition: str
    region: str
    account_id: str
    name_prefix: str
    kms_key_arn: pulumi.Input[str]
    namespace: str
    service_account: str
    oidc_provider_arn: str = ""
    """Set for IRSA."""
    oidc_issuer: str = ""
    eks_cluster_name: str = ""
    """Set for EKS Pod Identity (then ``oidc_provider_arn`` stays empty)."""
    tags: Mapping[str, str] | None = None

    @property
    def pod_identity(self) -> bool:
        return not self.oidc_provider_arn


class AwsEsoIdentity(pulumi.ComponentResource):
    """IAM policy and role for ESO in one environment, and how ESO's store uses them."""

    role_arn: pulumi.Output[str]
    policy_arn: pulumi.Output[str]
    irsa_annotations: dict[str, pulumi.Output[str]]
    """For the ESO service account; empty with Pod Identity."""
    store_provider: pulumi.Output[dict]
    """The ClusterSecretStore ``spec.provider`` block for this identity."""
    grants: list[pulumi.Resource]
    """What must exist before ESO can read: a store created earlier fails validation."""

    def __init__(self, name: str, args: AwsEsoIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:aws:AwsEsoIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags or {})

        arn_pattern = secret_arn_pattern(args.partition, args.region, args.account_id, args.name_prefix)
        policy = aws.iam.Policy(
            f"{name}-read-policy",
            name=f"aragora-{args.environment}-eso-read",
            description=f"ESO: read Aragora {args.environment} secrets only",
            policy=pulumi.Output.from_input(args.kms_key_arn).apply(
                lambda key_arn: json.dumps(read_policy_document(arn_pattern, key_arn, args.region))
            ),
            tags=tags,
            opts=child,
        )

        if args.pod_identity:
            trust = pod_identity_trust_policy(args.account_id, args.namespace, args.service_account)
        else:
            trust = irsa_trust_policy(args.oidc_provider_arn, args.oidc_issuer, args.namespace, args.service_account)
        role = aws.iam.Role(
            f"{name}-role",
            name=f"aragora-{args.environment}-eso",
            description=f"Assumed by External Secrets Operator to read Aragora {args.environment} secrets",
            assume_role_policy=json.dumps(trust),
            max_session_duration=3600,
            tags=tags,
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-read-attachment", role=role.name, policy_arn=policy.arn, opts=child
        )
        self.grants = [attachment]

        if args.pod_identity:
            association = aws.eks.PodIdentityAssociation(
                f"{name}-pod-identity",
                cluster_name=args.eks_cluster_name,
                namespace=args.namespace,
                service_account=args.service_account,
                role_arn=role.arn,
                tags=tags,
                opts=child,
            )
            self.grants.append(association)
            # With Pod Identity the store has no auth block: ESO uses the
            # controller's own credentials (serviceAccountRef is not allowed).
            self.store_provider = pulumi.Output.from_input(
                {"aws": {"service": "SecretsManager", "region": args.region}}
            )
            self.irsa_annotations = {}
        else:
            self.store_provider = pulumi.Output.from_input(
                {
                    "aws": {
                        "service": "SecretsManager",
                        "region": args.region,
                        "auth": {
                            "jwt": {
                                # A ClusterSecretStore must name the namespace, or ESO
                                # looks for the account in each ExternalSecret's namespace.
                                "serviceAccountRef": {"name": args.service_account, "namespace": args.namespace}
                            }
                        },
                    }
                }
            )
            self.irsa_annotations = {"eks.amazonaws.com/role-arn": role.arn}

        self.role_arn = role.arn
        self.policy_arn = policy.arn
        self.register_outputs({"role_arn": self.role_arn, "policy_arn": self.policy_arn})

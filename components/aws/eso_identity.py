"""The AWS identity ESO uses to read one environment's secrets.

Owns: a least-privilege IAM policy (read the secrets under one name prefix,
e.g. ``aragora/<env>/``, decrypt with that environment's key only through
Secrets Manager), an IAM role
trusted by exactly ESO's service account (IRSA) or by EKS Pod Identity, and
the Pod Identity association when that mode is chosen.
Does not own: the secrets or the key (``secrets_manager``), the OIDC
provider (created with the cluster), the store's provider block (the
program's backend declaration), nor the service-account annotation (the
caller passes ``service_account_annotations`` to the operator).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.service_account import ServiceAccount

# GetSecretValue and DescribeSecret are all ESO's SecretsManager provider calls
# for `data[].remoteRef` reads. ListSecrets / BatchGetSecretValue are only for
# `dataFrom.find`, which this project does not use, and ListSecrets cannot be
# scoped below `*`.
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")


def secret_arn_pattern(partition: str, region: str, account_id: str, name_prefix: str) -> str:
    return f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{name_prefix}*"


def read_policy_document(
    secret_arn: str, kms_key_arn: str, region: str, replicas: Sequence[tuple[str, str, str]] = ()
) -> dict:
    """Read-only access to one environment's secrets and its key, nothing else.

    ``replicas``: ``(region, secret ARN pattern, key ARN)`` of each replica region: the same names
    there, and that region's key only through Secrets Manager in that region (no other region)."""
    decrypt = [
        {
            "Sid": "DecryptThroughSecretsManagerOnly",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
        }
    ]
    for replica_region, _, replica_key in replicas:
        decrypt.append(
            {
                "Sid": "DecryptReplicaThroughSecretsManagerIn" + "".join(p.capitalize() for p in replica_region.split("-")),
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": replica_key,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{replica_region}.amazonaws.com"}},
            }
        )
    resource: str | list[str] = [secret_arn, *(arn for _, arn, _ in replicas)] if replicas else secret_arn
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadEnvironmentSecrets", "Effect": "Allow", "Action": list(SECRET_READ_ACTIONS), "Resource": resource},
            *decrypt,
        ],
    }


def irsa_trust_policy(oidc_provider_arn: str, issuer: str, account: ServiceAccount, more: Sequence[tuple[str, ServiceAccount]] = ()) -> dict:
    """Only this cluster's token for ``namespace/service_account``, audience STS.

    ``more``: ``(OIDC provider ARN, ESO's service account)`` of each other cluster of the
    environment: one statement each, every one pinned to its own issuer, subject and audience."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{iss}:sub": sa.subject,
                        f"{iss}:aud": "sts.amazonaws.com",
                    }
                },
            }
            for arn, iss, sa in [(oidc_provider_arn, issuer, account), *((a, issuer_of(a), sa) for a, sa in more)]
        ],
    }


def pod_identity_trust_policy(cluster_arn: str, account_id: str, account: ServiceAccount, more: Sequence[tuple[str, ServiceAccount]] = ()) -> dict:
    """EKS Pod Identity for ESO's service account in exactly one cluster.

    Namespace and service-account names are unique only within a cluster, so
    the session tag ``eks-cluster-arn`` pins the cluster: another cluster of
    the account with an association for the same names cannot assume the role.
    ``more``: ``(cluster ARN, ESO's service account)`` of each other cluster of the
    environment, one statement each.
    """
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
                        "aws:RequestTag/eks-cluster-arn": arn,
                        "aws:RequestTag/kubernetes-namespace": sa.namespace,
                        "aws:RequestTag/kubernetes-service-account": sa.name,
                    }
                },
            }
            for arn, sa in [(cluster_arn, account), *more]
        ],
    }


def issuer_of(oidc_provider_arn: str) -> str:
    """The issuer as IAM condition keys spell it (host/path, no ``https://``), from the provider's ARN."""
    return oidc_provider_arn.split(":oidc-provider/", 1)[1]


@dataclass(frozen=True)
class AwsEsoCluster:
    """Another cluster of the environment whose ESO assumes the same role."""

    name: str
    """Short name, suffixes its Pod Identity association."""
    eso: ServiceAccount
    oidc_provider_arn: str | None = None
    """IRSA: that cluster's IAM OIDC provider."""
    pod_identity_cluster_arn: str | None = None
    """Pod Identity: that cluster's ARN (its association is made through ``provider``, in its region)."""
    provider: pulumi.ProviderResource | None = None


@dataclass(frozen=True)
class AwsEsoIdentityArgs:
    role_name: str
    """IAM role name, e.g. ``aragora-staging-eso``."""
    policy_name: str
    """IAM policy name, e.g. ``aragora-staging-eso-read``."""
    subject: str
    """Whose secrets these are, for descriptions, e.g. ``Aragora staging``."""
    partition: str
    region: str
    account_id: str
    secret_name_prefix: str
    """Every secret ESO may read is named with this prefix (``aragora/<env>/``)."""
    kms_key_arn: pulumi.Input[str]
    eso: ServiceAccount
    """Who assumes the role."""
    oidc_provider_arn: str | None = None
    """IRSA: the cluster's IAM OIDC provider. Exactly one of this and ``pod_identity_cluster``."""
    pod_identity_cluster: str | None = None
    """EKS Pod Identity: the cluster's name (the association is made here, the trust pinned to its ARN)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    replicas: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Replica region -> the key encrypting the replicas there: ESO reads the same names there too."""
    more_clusters: Sequence[AwsEsoCluster] = ()
    """The environment's other clusters: the role trusts each one's ESO too (same mode as this one)."""

    def __post_init__(self) -> None:
        if (self.oidc_provider_arn is None) == (self.pod_identity_cluster is None):
            raise ValueError("AwsEsoIdentityArgs: exactly one of oidc_provider_arn (IRSA) and pod_identity_cluster (Pod Identity)")

    @property
    def cluster_arn(self) -> str:
        """The Pod Identity cluster's ARN, as EKS tags a session with it (``eks-cluster-arn``)."""
        return f"arn:{self.partition}:eks:{self.region}:{self.account_id}:cluster/{self.pod_identity_cluster}"


class AwsEsoIdentity(pulumi.ComponentResource):
    """IAM policy and role for ESO in one environment, and how ESO's store uses them."""

    role_arn: pulumi.Output[str]
    policy_arn: pulumi.Output[str]
    service_account_annotations: dict[str, pulumi.Output[str]]
    """For the ESO service account: the IRSA role; empty with Pod Identity."""
    grants: list[pulumi.Resource]
    """What must exist before ESO can read: a store created earlier fails validation."""

    def __init__(self, name: str, args: AwsEsoIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:aws:AwsEsoIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        arn_pattern = secret_arn_pattern(args.partition, args.region, args.account_id, args.secret_name_prefix)
        regions = list(args.replicas)
        policy = aws.iam.Policy(
            f"{name}-read-policy",
            name=args.policy_name,
            description=f"ESO: read {args.subject} secrets only",
            policy=pulumi.Output.all(args.kms_key_arn, *args.replicas.values()).apply(
                lambda arns: json.dumps(
                    read_policy_document(
                        arn_pattern,
                        arns[0],
                        args.region,
                        [
                            (r, secret_arn_pattern(args.partition, r, args.account_id, args.secret_name_prefix), k)
                            for r, k in zip(regions, arns[1:], strict=True)
                        ],
                    )
                )
            ),
            tags=tags,
            opts=child,
        )

        more = args.more_clusters
        if args.oidc_provider_arn is not None:
            if any(c.oidc_provider_arn is None for c in more):
                raise ValueError("AwsEsoIdentityArgs: every cluster of an environment uses one mode (IRSA here)")
            trust = irsa_trust_policy(
                args.oidc_provider_arn, issuer_of(args.oidc_provider_arn), args.eso, [(c.oidc_provider_arn, c.eso) for c in more]
            )
        else:
            if any(c.pod_identity_cluster_arn is None for c in more):
                raise ValueError("AwsEsoIdentityArgs: every cluster of an environment uses one mode (Pod Identity here)")
            trust = pod_identity_trust_policy(
                args.cluster_arn, args.account_id, args.eso, [(c.pod_identity_cluster_arn, c.eso) for c in more]
            )
        role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            description=f"Assumed by External Secrets Operator to read {args.subject} secrets",
            assume_role_policy=json.dumps(trust),
            max_session_duration=3600,
            tags=tags,
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-read-attachment", role=role.name, policy_arn=policy.arn, opts=child
        )
        self.grants = [attachment]

        if args.pod_identity_cluster is not None:
            association = aws.eks.PodIdentityAssociation(
                f"{name}-pod-identity",
                cluster_name=args.pod_identity_cluster,
                namespace=args.eso.namespace,
                service_account=args.eso.name,
                role_arn=role.arn,
                # The trust policy matches on the session tags EKS adds; without
                # them no condition matches and ESO could not assume the role.
                disable_session_tags=False,
                tags=tags,
                opts=child,
            )
            self.grants.append(association)
            for c in more:
                assert c.pod_identity_cluster_arn
                # An association lives in its cluster's region: made through that region's provider.
                self.grants.append(
                    aws.eks.PodIdentityAssociation(
                        f"{name}-pod-identity-{c.name}",
                        cluster_name=c.pod_identity_cluster_arn.rsplit("/", 1)[1],
                        namespace=c.eso.namespace,
                        service_account=c.eso.name,
                        role_arn=role.arn,
                        disable_session_tags=False,
                        tags=tags,
                        opts=pulumi.ResourceOptions(parent=self, provider=c.provider),
                    )
                )
            self.service_account_annotations = {}
        else:
            self.service_account_annotations = {"eks.amazonaws.com/role-arn": role.arn}

        self.role_arn = role.arn
        self.policy_arn = policy.arn
        self.register_outputs({"role_arn": self.role_arn, "policy_arn": self.policy_arn})

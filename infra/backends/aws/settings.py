"""The AWS backend's config keys: one field per ``Pulumi.yaml`` key, rule and message beside it."""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from pydantic import Field, model_validator

from infra.fields import BackendSettings, Flag, choice, integer, reject, text, text_list
from infra.separation import Claim


class AwsIdentity(StrEnum):
    IRSA = "irsa"
    POD_IDENTITY = "pod-identity"


class AwsVpcEndpoints(StrEnum):
    """Network isolation of the secrets (opt-in)."""

    NONE = "none"
    CREATE = "create"
    """Interface endpoints for secretsmanager, kms and sts in the cluster's VPC."""
    EXISTING = "existing"
    """Endpoints the network team already runs; only their ids are named."""


@dataclass(frozen=True)
class CreateEndpoints:
    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class ExistingEndpoints:
    secretsmanager_endpoint_ids: tuple[str, ...]


# Partitions by region prefix (AWS "partitions.json"); the first match wins.
_PARTITIONS = (
    ("cn-", "aws-cn"),
    ("eusc-", "aws-eusc"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
)
REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}"
# EKS issuers are oidc.eks.<region>.amazonaws.com[.cn]/id/<32 upper-case hex>.
OIDC_PROVIDER_ARN = (
    r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>[0-9]{12}):oidc-provider/"
    r"(?P<issuer>oidc\.eks\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/id/[A-Z0-9]{32})"
)


@functools.cache
def known_regions() -> frozenset[str]:
    """The regions of the pinned AWS provider's own ``Region`` enum, read from its source without importing it
    (importing pulumi_aws costs seconds; the enum is data)."""
    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or spec.origin is None:
        return frozenset()
    source = (Path(spec.origin).parent / "_enums.py").read_text()
    block = source.split("class Region(", 1)[1].split("\nclass ", 1)[0]
    return frozenset(re.findall(r'^\s+[A-Z0-9_]+ = "([a-z0-9-]+)"', block, re.M))


_EKS_CONTEXT = re.compile(r"arn:aws[a-z-]*:eks:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):cluster/.+")


def partition_of(region: str) -> str:
    """The ARN partition of ``region`` (``aws``, ``aws-cn``, ``aws-us-gov``, ``aws-iso*``)."""
    return next((p for prefix, p in _PARTITIONS if region.startswith(prefix)), "aws")


@dataclass(frozen=True)
class Irsa:
    """IAM roles for service accounts: the cluster's OIDC provider is trusted."""

    oidc_provider_arn: str
    issuer: str
    """As IAM condition keys use it: host/path, no ``https://``."""


@dataclass(frozen=True)
class PodIdentity:
    """EKS Pod Identity: ``pods.eks.amazonaws.com`` assumes the role for an association."""

    cluster_name: str


class AwsSettings(BackendSettings):
    name: ClassVar[str] = "aws"
    store_name: ClassVar[str] = "aws-secrets-manager"

    region: text(REGION, "an AWS region, e.g. us-east-1, eu-west-2", optional=True) = Field(alias="awsRegion")
    account_id: text(r"[0-9]{12}", "an AWS account id, 12 digits", optional=True) = Field(alias="awsAccountId")
    identity: choice(AwsIdentity) = Field(alias="awsIdentity")
    oidc_provider_arn: text(
        OIDC_PROVIDER_ARN,
        "an EKS OIDC provider ARN, arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<32-character id>",
        optional=True,
    ) = Field(alias="awsOidcProviderArn")
    eks_cluster_name: text(
        r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}", "an EKS cluster name: letters, digits, '-', '_', up to 100", optional=True
    ) = Field(alias="awsEksClusterName")
    recovery_window_days: integer(7, 30, "Secrets Manager's limits") = Field(alias="awsRecoveryWindowDays")
    vpc_endpoints: choice(AwsVpcEndpoints) = Field(alias="awsVpcEndpoints")
    vpc_id: text(r"vpc-[0-9a-f]{8,17}", "a VPC id, e.g. vpc-0abc12345def67890", optional=True) = Field(alias="awsVpcId")
    vpc_subnet_ids: text_list(r"subnet-[0-9a-f]{8,17}", "subnet ids, e.g. [subnet-0abc12345def67890]") = Field(alias="awsVpcSubnetIds")
    vpc_security_group_ids: text_list(r"sg-[0-9a-f]{8,17}", "security group ids, e.g. [sg-0abc12345def67890]") = Field(
        alias="awsVpcSecurityGroupIds"
    )
    vpc_endpoint_ids: text_list(r"vpce-[0-9a-f]{8,17}", "Secrets Manager VPC endpoint ids, e.g. [vpce-0abc12345def67890]") = Field(
        alias="awsVpcEndpointIds"
    )
    secret_writer_arns: text_list(
        r"arn:aws[a-z-]*:iam::[0-9]{12}:(?:role|user)/[A-Za-z0-9+=,.@_/-]{1,512}",
        "IAM role or user ARNs of this account that write values from outside the VPC, e.g. arn:aws:iam::111122223333:role/operator",
    ) = Field(alias="awsSecretWriterArns")
    rotation_lambda_arns: text_list(
        r"[a-z0-9][a-z0-9-]{0,63}=arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9_$-]+)?",
        "<group>=<rotation Lambda ARN> pairs, e.g. [database=arn:aws:lambda:us-east-1:111122223333:function:rotate-db]",
    ) = Field(alias="awsRotationLambdaArns")
    config_rules: Flag = Field(alias="awsConfigRules")
    deployer_role_arn: text(
        r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}",
        "an IAM role ARN of this account, e.g. arn:aws:iam::111122223333:role/aragora-staging-deployer",
        optional=True,
    ) = Field(alias="awsDeployerRoleArn")
    kms_admin_arns: text_list(
        r"arn:aws[a-z-]*:iam::[0-9]{12}:(?:role|user)/[A-Za-z0-9+=,.@_/-]{1,512}",
        "IAM role or user ARNs of this account, e.g. arn:aws:iam::111122223333:role/platform-admin",
    ) = Field(alias="awsKmsAdminArns")

    @model_validator(mode="after")
    def _complete(self) -> AwsSettings:
        if self.region is None:
            reject("awsRegion", "", "is missing (required when backend is aws)")
        if self.account_id is None:
            reject("awsAccountId", "", "is missing (required when backend is aws)")
        if self.identity is AwsIdentity.IRSA:
            arn = self.oidc_provider_arn
            if arn is None:
                reject("awsOidcProviderArn", "", "is missing (required when awsIdentity is irsa)")
            match = re.fullmatch(OIDC_PROVIDER_ARN, arn, re.ASCII)
            assert match  # the field's own rule
            if match["partition"] != self.partition:
                reject("awsOidcProviderArn", arn, f"is in partition {match['partition']} (allowed: {self.partition}, the partition of awsRegion)")
            if match["account"] != self.account_id:
                reject("awsOidcProviderArn", arn, f"names account {match['account']} (allowed: awsAccountId {self.account_id})")
            if match["region"] != self.region:
                reject("awsOidcProviderArn", arn, f"names region {match['region']} (allowed: awsRegion {self.region})")
        elif self.eks_cluster_name is None:
            reject("awsEksClusterName", "", "is missing (required when awsIdentity is pod-identity)")
        for pair in self.rotation_lambda_arns:
            arn = pair.split("=", 1)[1]
            if arn.split(":")[1] != self.partition or arn.split(":")[4] != self.account_id:
                reject("awsRotationLambdaArns", pair, f"is not a Lambda of this account (allowed: arn:{self.partition}:lambda:<region>:{self.account_id}:function:...)")
        deployer = [self.deployer_role_arn] if self.deployer_role_arn else []
        for key, arns in (
            ("awsKmsAdminArns", self.kms_admin_arns),
            ("awsSecretWriterArns", self.secret_writer_arns),
            ("awsDeployerRoleArn", deployer),
        ):
            for arn in arns:
                if not arn.startswith(f"arn:{self.partition}:iam::{self.account_id}:"):
                    reject(key, arn, f"is not of this account (allowed: arn:{self.partition}:iam::{self.account_id}:role/...)")
        if self.region not in known_regions():
            reject("awsRegion", self.region, f"is not a region the pinned AWS provider knows (allowed: {', '.join(sorted(known_regions()))})")
        if self.vpc_endpoints is AwsVpcEndpoints.NONE:
            # Set without the mode, these would render no resource policy: a protection silently void.
            for key, value in (
                ("awsVpcEndpointIds", self.vpc_endpoint_ids),
                ("awsSecretWriterArns", self.secret_writer_arns),
                ("awsVpcId", self.vpc_id),
                ("awsVpcSubnetIds", self.vpc_subnet_ids),
                ("awsVpcSecurityGroupIds", self.vpc_security_group_ids),
            ):
                if value:
                    reject(key, list(value) if isinstance(value, tuple) else value, "is set but awsVpcEndpoints is none, so it protects nothing (allowed: set awsVpcEndpoints to create or existing, or remove it)")
        if self.vpc_endpoints is AwsVpcEndpoints.CREATE:
            for key, value in (("awsVpcId", self.vpc_id), ("awsVpcSubnetIds", self.vpc_subnet_ids), ("awsVpcSecurityGroupIds", self.vpc_security_group_ids)):
                if not value:
                    reject(key, "" if value is None else list(value), "is missing (required when awsVpcEndpoints is create)")
        if self.vpc_endpoints is AwsVpcEndpoints.EXISTING and not self.vpc_endpoint_ids:
            reject("awsVpcEndpointIds", [], "is missing (required when awsVpcEndpoints is existing)")
        return self

    @property
    def rotation_lambdas(self) -> dict[str, str]:
        """Group -> rotation Lambda ARN."""
        return dict(pair.split("=", 1) for pair in self.rotation_lambda_arns)

    @property
    def network(self) -> CreateEndpoints | ExistingEndpoints | None:
        """Where reads of the secrets must come from; None: anywhere IAM allows."""
        if self.vpc_endpoints is AwsVpcEndpoints.CREATE:
            assert self.vpc_id
            return CreateEndpoints(self.vpc_id, self.vpc_subnet_ids, self.vpc_security_group_ids)
        if self.vpc_endpoints is AwsVpcEndpoints.EXISTING:
            return ExistingEndpoints(self.vpc_endpoint_ids)
        return None

    def check_cluster(self, primary: BackendSettings) -> None:
        if self.network is not None and self.region != primary.region:  # type: ignore[attr-defined]
            # The endpoints and the secrets' resource policies are the primary region's only.
            reject("awsVpcEndpoints", self.vpc_endpoints.value, f"is set with a cluster in {self.region}, outside the primary region (allowed: none; VPC endpoints per region are not declared yet)")

    def check_kube_context(self, context: str) -> None:
        # An EKS cluster ARN as the context names an account and region: they must be this stack's own.
        match = _EKS_CONTEXT.fullmatch(context)
        if match and (match["account"], match["region"]) != (self.account_id, self.region):
            reject(
                "kubeContext",
                context,
                f"is an EKS cluster of account {match['account']} in {match['region']} "
                f"(allowed: a cluster of this stack's own account {self.account_id} in {self.region})",
            )

    def exclusive(self) -> list[Claim]:
        if isinstance(self.trust, Irsa):
            # The role trusts this issuer: another environment's cluster with the same issuer could
            # assume the role, whichever account registered the provider (the ARN's account is
            # only who registered it; the issuer is who signs the tokens).
            arn = self.trust.oidc_provider_arn
            claims = [Claim("awsOidcProviderArn", f"oidc-issuer/{self.trust.issuer.lower()}", arn, "the OIDC issuer of this environment's own cluster")]
        else:
            cluster = f"eks/{self.account_id}/{self.region}/{self.trust.cluster_name}"
            claims = [Claim("awsEksClusterName", cluster, self.trust.cluster_name, "this environment's own EKS cluster")]
        if self.deployer_role_arn:
            # The role that deploys one environment holds its admin rights: it deploys no other.
            role = self.deployer_role_arn
            claims.append(Claim("awsDeployerRoleArn", f"iam-role/{role}", role, "a deployer role of this environment's own"))
        return claims

    @property
    def eks_cluster_arn(self) -> str:
        """ARN of the Pod Identity cluster, as EKS tags a session with it (``eks-cluster-arn``)."""
        return f"arn:{self.partition}:eks:{self.region}:{self.account_id}:cluster/{self.eks_cluster_name}"

    @property
    def partition(self) -> str:
        return partition_of(self.region or "")

    @property
    def trust(self) -> Irsa | PodIdentity:
        """Who may assume ESO's role, as a typed mode (never an empty-string sentinel)."""
        if self.identity is AwsIdentity.IRSA:
            match = re.fullmatch(OIDC_PROVIDER_ARN, self.oidc_provider_arn or "", re.ASCII)
            assert match
            return Irsa(oidc_provider_arn=match[0], issuer=match["issuer"])
        assert self.eks_cluster_name
        return PodIdentity(cluster_name=self.eks_cluster_name)

"""The AWS backend's config keys: one field per ``Pulumi.yaml`` key, rule and message beside it."""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, model_validator

from infra.fields import BackendSettings, Flag, choice, integer, reject, text, text_list
from infra.separation import Claim, eks_cluster, parse_eks_context

if TYPE_CHECKING:
    from infra.catalog import Catalog


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


def dns_suffix(partition: str) -> str:
    """The DNS suffix of ``partition``'s service endpoints and EKS issuers (AWS partitions.json ``dnsSuffix``)."""
    return "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


def iam_name(arn: str) -> str:
    """An IAM role's or user's name as IAM compares it: the last path segment, case folded."""
    return arn.split(":", 5)[5].rsplit("/", 1)[-1].lower()


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
    primary_keys: ClassVar[tuple[str, ...]] = ("awsRotationLambdaArns",)

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
            # EKS issuers end in the partition's DNS suffix: amazonaws.com.cn in aws-cn, amazonaws.com elsewhere.
            suffix = dns_suffix(self.partition)
            if not match["issuer"].startswith(f"oidc.eks.{match['region']}.{suffix}/"):
                reject("awsOidcProviderArn", arn, f"names an issuer outside {suffix} (allowed: oidc.eks.{self.region}.{suffix}/id/<id>, the issuer host of partition {self.partition})")
        elif self.eks_cluster_name is None:
            reject("awsEksClusterName", "", "is missing (required when awsIdentity is pod-identity)")
        for pair in self.rotation_lambda_arns:
            arn = pair.split("=", 1)[1]
            _, partition, _, region, account, *_ = arn.split(":")
            if (partition, region, account) != (self.partition, self.region, self.account_id):
                # Secrets Manager invokes a rotation function of its own region and account only.
                reject("awsRotationLambdaArns", pair, f"is not a Lambda of this account and region (allowed: arn:{self.partition}:lambda:{self.region}:{self.account_id}:function:...)")
        groups = [pair.split("=", 1)[0] for pair in self.rotation_lambda_arns]
        if len(set(groups)) != len(groups):
            reject("awsRotationLambdaArns", list(self.rotation_lambda_arns), "names a group twice (allowed: one rotation Lambda per group)")
        for key, arns in (("awsKmsAdminArns", self.kms_admin_arns), ("awsSecretWriterArns", self.secret_writer_arns)):
            # One IAM identity however its name is cased or pathed: listing it twice is a mistake that hides another.
            seen: dict[tuple[str, str], str] = {}
            for arn in arns:
                identity = (arn.split(":", 5)[5].split("/", 1)[0], iam_name(arn))
                if identity in seen:
                    reject(key, arn, f"is {seen[identity]} again (allowed: each identity once; IAM names ignore case and path)")
                seen[identity] = arn
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
        # An EKS cluster ARN as the context names a partition, account, region and cluster: they must be
        # this stack's own, and with Pod Identity the cluster is the one the association is made on.
        match = parse_eks_context(context)
        if match is None:
            if context.startswith("arn:") and ":eks:" in context:
                reject("kubeContext", context, "is not an EKS cluster ARN (allowed: arn:<partition>:eks:<region>:<account>:cluster/<name>, or a plain context name)")
            return
        if (match["partition"], match["account"], match["region"]) != (self.partition, self.account_id, self.region):
            reject(
                "kubeContext",
                context,
                f"is an EKS cluster of {match['partition']} account {match['account']} in {match['region']} "
                f"(allowed: a cluster of this stack's own account {self.account_id} in {self.region}, partition {self.partition})",
            )
        if self.identity is AwsIdentity.POD_IDENTITY and match["cluster"] != self.eks_cluster_name:
            reject(
                "kubeContext",
                context,
                f"is cluster {match['cluster']}, but the Pod Identity association is made on awsEksClusterName {self.eks_cluster_name} "
                "(allowed: the context of the cluster ESO runs in, the association's cluster)",
            )

    def check_catalog(self, environment: str, secrets: Catalog) -> None:
        unknown = set(self.rotation_lambdas) - set(secrets.by_group)
        if unknown:
            reject("awsRotationLambdaArns", sorted(unknown), f"names no catalog group (allowed: {', '.join(secrets.by_group)})")
        app = secrets.app
        # IAM role names are unique per account case-insensitively and whatever their path
        # (IAM User Guide, "IAM identifiers": "names are not distinguished by case"), so a role is
        # compared by its lower-cased name alone.
        for key, arns, why in (
            ("awsSecretWriterArns", self.secret_writer_arns, "operators and CI roles that write values, never a reader"),
            ("awsKmsAdminArns", self.kms_admin_arns, "administrators who never read values"),
            ("awsDeployerRoleArn", [self.deployer_role_arn] if self.deployer_role_arn else [], "a deployer role that is not ESO's"),
        ):
            for arn in arns:
                name = iam_name(arn)
                if arn.split(":")[5].startswith("role/") and name.startswith(f"{app.name}-") and name.endswith("-eso"):
                    reject(key, arn, f"is an ESO role of this project, {app.resource_name(environment, 'eso')} or another environment's (allowed: {why})")

    def exclusive(self) -> list[Claim]:
        if isinstance(self.trust, Irsa):
            # The role trusts this issuer: another environment's cluster with the same issuer could
            # assume the role, whichever account registered the provider (the ARN's account is
            # only who registered it; the issuer is who signs the tokens).
            arn = self.trust.oidc_provider_arn
            claims = [Claim("awsOidcProviderArn", f"oidc-issuer/{self.trust.issuer.lower()}", arn, "the OIDC issuer of this environment's own cluster")]
        else:
            cluster = eks_cluster(self.partition, self.account_id or "", self.region or "", self.trust.cluster_name)
            claims = [Claim("awsEksClusterName", cluster, self.trust.cluster_name, "this environment's own EKS cluster")]
        if self.deployer_role_arn:
            # The role that deploys one environment holds its admin rights: it deploys no other.
            role = self.deployer_role_arn
            identity = f"iam-role/{self.partition}/{self.account_id}/{iam_name(role)}"
            claims.append(Claim("awsDeployerRoleArn", identity, role, "a deployer role of this environment's own"))
        return claims

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

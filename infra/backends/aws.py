"""AWS Secrets Manager backend: containers, ESO's IAM identity, and the store's provider block."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws_eso_identity import AwsEsoIdentity, AwsEsoIdentityArgs
from components.aws_secrets_manager import AwsSecretsManager, AwsSecretsManagerArgs
from components.eso import NAMESPACE as ESO_NAMESPACE
from components.eso import SERVICE_ACCOUNT as ESO_SERVICE_ACCOUNT
from infra import catalog
from infra.backends import tags
from infra.config import AwsIdentity, StackConfig


class Backend:
    """AWS Secrets Manager: containers, identity, and the store's provider block."""

    store_name = "aws-secrets-manager"
    layout = catalog.Layout.GROUPED

    def __init__(self, cfg: StackConfig, k8s_provider: k8s.Provider):
        assert cfg.aws is not None
        a = cfg.aws
        stack_tags = tags(cfg)
        # allowed_account_ids makes the provider refuse credentials of any other
        # account: a staging run can never touch production.
        provider = aws.Provider(
            "aws",
            region=a.region,
            allowed_account_ids=[a.account_id],
            default_tags={"tags": stack_tags},
        )
        opts = pulumi.ResourceOptions(providers={"aws": provider})
        prefix = catalog.env_prefix(cfg.environment)
        descriptions = {
            group: f"Aragora {cfg.environment}: " + ", ".join(e.env_var for e in entries)
            for group, entries in catalog.by_group().items()
        }
        self.secrets = AwsSecretsManager(
            "aws-secrets",
            AwsSecretsManagerArgs(
                environment=cfg.environment,
                name_prefix=prefix,
                secrets=descriptions,
                recovery_window_days=a.recovery_window_days,
                tags=stack_tags,
            ),
            opts=opts,
        )
        irsa = a.identity is AwsIdentity.IRSA
        self.identity = AwsEsoIdentity(
            "aws-eso-identity",
            AwsEsoIdentityArgs(
                environment=cfg.environment,
                partition=a.partition,
                region=a.region,
                account_id=a.account_id,
                name_prefix=prefix,
                kms_key_arn=self.secrets.kms_key_arn,
                namespace=ESO_NAMESPACE,
                service_account=ESO_SERVICE_ACCOUNT,
                oidc_provider_arn=a.oidc_provider_arn if irsa else "",
                oidc_issuer=a.oidc_issuer if irsa else "",
                eks_cluster_name="" if irsa else a.cluster_name,
                tags=stack_tags,
            ),
            opts=opts,
        )
        self.service_account_annotations = self.identity.irsa_annotations
        self.grants = self.identity.grants
        self.store_provider = self.identity.store_provider

    def export(self) -> None:
        pulumi.export("awsRoleArn", self.identity.role_arn)
        pulumi.export("awsKmsKeyArn", self.secrets.kms_key_arn)
        pulumi.export("awsSecretArns", self.secrets.secret_arns)

"""AWS Secrets Manager: the environment's key and secrets, ESO's identity, the store's provider block."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra import catalog
from infra.backends.aws.eso_identity import AwsEsoIdentity, AwsEsoIdentityArgs
from infra.backends.aws.network_isolation import AwsNetworkIsolation, AwsNetworkIsolationArgs
from infra.backends.aws.rotation import AwsRotation, AwsRotationArgs
from infra.backends.aws.secrets_manager import AwsSecretsManager, AwsSecretsManagerArgs
from infra.backends.aws.settings import AwsSettings, Irsa
from infra.backends.base import Declared, RemoteRef
from infra.components.eso import ESO_SERVICE_ACCOUNT
from infra.fields import reject


def store_provider(settings: AwsSettings) -> dict[str, Any]:
    """The ClusterSecretStore ``spec.provider`` block."""
    block: dict[str, Any] = {"service": "SecretsManager", "region": settings.region}
    if isinstance(settings.trust, Irsa):
        block["auth"] = {"jwt": {"serviceAccountRef": ESO_SERVICE_ACCOUNT.ref()}}
    # With Pod Identity there is no auth block: ESO uses the controller's own
    # credentials (a serviceAccountRef is refused in that mode).
    return {"aws": block}


def tags(environment: str) -> dict[str, str]:
    return {"app": "aragora", "environment": environment, "managed-by": "pulumi", "pulumi-project": "aragora-secrets"}


def declare(
    environment: str, settings: AwsSettings, secrets: catalog.Catalog, k8s_provider: k8s.Provider
) -> Declared:
    unknown = set(settings.rotation_lambdas) - set(secrets.by_group)
    if unknown:  # before anything is declared
        reject("awsRotationLambdaArns", sorted(unknown), f"names no catalog group (allowed: {', '.join(secrets.by_group)})")
    stack_tags = tags(environment)
    # allowed_account_ids makes the provider refuse credentials of any other
    # account: one environment's run can never touch another's account.
    provider = aws.Provider(
        "aws",
        region=settings.region,
        allowed_account_ids=[settings.account_id],
        default_tags={"tags": stack_tags},
        insecure=False,
    )
    opts = pulumi.ResourceOptions(providers={"aws": provider})
    prefix = catalog.env_prefix(environment)
    stored = AwsSecretsManager(
        "aws-secrets",
        AwsSecretsManagerArgs(
            environment=environment,
            name_prefix=prefix,
            secrets={
                group: f"Aragora {environment}: " + ", ".join(e.env_var for e in entries)
                for group, entries in secrets.by_group.items()
            },
            settings=settings,
            tags=stack_tags,
        ),
        opts=opts,
    )
    identity = AwsEsoIdentity(
        "aws-eso-identity",
        AwsEsoIdentityArgs(
            environment=environment,
            settings=settings,
            name_prefix=prefix,
            kms_key_arn=stored.kms_key_arn,
            eso=ESO_SERVICE_ACCOUNT,
            tags=stack_tags,
        ),
        opts=opts,
    )
    if settings.rotation_lambdas or settings.config_rules:
        AwsRotation(
            "aws-rotation",
            AwsRotationArgs(
                environment=environment,
                secret_arns=stored.secret_arns,
                max_age_days={g: secrets.max_age_days(g) for g in secrets.by_group},
                lambda_arns=settings.rotation_lambdas,
                config_rules=settings.config_rules,
                kms_key_arn=stored.kms_key_arn,
            ),
            opts=opts,
        )
    outputs = {"awsRoleArn": identity.role_arn, "awsKmsKeyArn": stored.kms_key_arn, "awsSecretArns": stored.secret_arns}
    if settings.network is not None:
        isolation = AwsNetworkIsolation(
            "aws-network",
            AwsNetworkIsolationArgs(
                environment=environment,
                region=settings.region,
                network=settings.network,
                secret_arns=stored.secret_arns,
                writer_arns=settings.secret_writer_arns,
                tags=stack_tags,
            ),
            opts=opts,
        )
        outputs["awsSecretsManagerEndpointIds"] = isolation.secretsmanager_endpoint_ids
    return Declared(
        store_name=settings.store_name,
        store_provider=store_provider(settings),
        remote_ref=lambda e: RemoteRef(catalog.grouped_path(environment, e.group), e.key),
        service_account_annotations=identity.service_account_annotations,
        grants=tuple(identity.grants),
        outputs=outputs,
    )

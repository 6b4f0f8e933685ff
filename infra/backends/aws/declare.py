"""AWS Secrets Manager: the environment's key and secrets, ESO's identity, the store's provider block.

Turns ``AwsSettings`` and the catalog into the arguments of ``components/aws``.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.eso_identity import AwsEsoIdentity, AwsEsoIdentityArgs
from components.aws.network_isolation import AwsNetworkIsolation, AwsNetworkIsolationArgs
from components.aws.rotation import AwsRotation, AwsRotationArgs
from components.aws.secrets_manager import AwsSecretsManager, AwsSecretsManagerArgs
from components.eso import ESO_SERVICE_ACCOUNT
from components.service_account import ServiceAccount
from infra.backends.aws.settings import AwsSettings, CreateEndpoints, Irsa, PodIdentity
from infra.backends.base import Declared, RemoteRef
from infra.catalog import App, Catalog
from infra.fields import PROJECT


def store_provider(settings: AwsSettings, eso: ServiceAccount = ESO_SERVICE_ACCOUNT) -> dict[str, Any]:
    """The ClusterSecretStore ``spec.provider`` block."""
    block: dict[str, Any] = {"service": "SecretsManager", "region": settings.region}
    if isinstance(settings.trust, Irsa):
        block["auth"] = {"jwt": {"serviceAccountRef": eso.ref()}}
    # With Pod Identity there is no auth block: ESO uses the controller's own
    # credentials (a serviceAccountRef is refused in that mode).
    return {"aws": block}


def tags(app: App, environment: str) -> dict[str, str]:
    return {"app": app.name, "environment": environment, "managed-by": "pulumi", "pulumi-project": PROJECT}


def declare(
    environment: str, settings: AwsSettings, secrets: Catalog, k8s_provider: k8s.Provider, eso: ServiceAccount
) -> Declared:
    # Refusals happen in AwsSettings.check_catalog, before the first resource is declared.
    app = secrets.app
    stack_tags = tags(app, environment)
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
    prefix = app.prefix(environment)
    where = {"partition": settings.partition, "account_id": settings.account_id, "region": settings.region}
    stored = AwsSecretsManager(
        "aws-secrets",
        AwsSecretsManagerArgs(
            subject=app.subject(environment),
            kms_alias=f"alias/{app.resource_name(environment, 'secrets')}",
            name_prefix=prefix,
            secrets={
                group: f"{app.subject(environment)}: " + ", ".join(e.env_var for e in entries)
                for group, entries in secrets.by_group.items()
            },
            recovery_window_days=settings.recovery_window_days,
            kms_admin_arns=settings.kms_admin_arns,
            group_tag_key=app.group_tag_key,
            tags=stack_tags,
            **where,
        ),
        opts=opts,
    )
    trust = settings.trust
    identity = AwsEsoIdentity(
        "aws-eso-identity",
        AwsEsoIdentityArgs(
            role_name=app.resource_name(environment, "eso"),
            policy_name=app.resource_name(environment, "eso", "read"),
            subject=app.subject(environment),
            secret_name_prefix=prefix,
            kms_key_arn=stored.kms_key_arn,
            eso=eso,
            oidc_provider_arn=trust.oidc_provider_arn if isinstance(trust, Irsa) else None,
            pod_identity_cluster=trust.cluster_name if isinstance(trust, PodIdentity) else None,
            tags=stack_tags,
            **where,
        ),
        opts=opts,
    )
    if settings.rotation_lambdas or settings.config_rules:
        AwsRotation(
            "aws-rotation",
            AwsRotationArgs(
                rule_name_prefix=app.resource_name(environment, "secrets"),
                secret_arns=stored.secret_arns,
                max_age_days={g: secrets.max_age_days(g) for g in secrets.by_group},
                scope_tag=("environment", environment),
                group_tag_key=app.group_tag_key,
                lambda_arns=settings.rotation_lambdas,
                config_rules=settings.config_rules,
                kms_key_arn=stored.kms_key_arn,
            ),
            opts=opts,
        )
    outputs = {"awsRoleArn": identity.role_arn, "awsKmsKeyArn": stored.kms_key_arn, "awsSecretArns": stored.secret_arns}
    network = settings.network
    if network is not None:
        created = isinstance(network, CreateEndpoints)
        isolation = AwsNetworkIsolation(
            "aws-network",
            AwsNetworkIsolationArgs(
                name_prefix=app.resource_name(environment),
                region=settings.region,
                secret_arns=stored.secret_arns,
                vpc_id=network.vpc_id if created else None,
                subnet_ids=network.subnet_ids if created else (),
                security_group_ids=network.security_group_ids if created else (),
                existing_endpoint_ids=() if created else network.secretsmanager_endpoint_ids,
                writer_arns=settings.secret_writer_arns,
                tags=stack_tags,
            ),
            opts=opts,
        )
        outputs["awsSecretsManagerEndpointIds"] = isolation.secretsmanager_endpoint_ids
    return Declared(
        store_name=settings.store_name,
        store_provider=store_provider(settings, eso),
        remote_ref=lambda e: RemoteRef(app.grouped_path(environment, e.group), e.key),
        service_account_annotations=identity.service_account_annotations,
        grants=tuple(identity.grants),
        outputs=outputs,
    )

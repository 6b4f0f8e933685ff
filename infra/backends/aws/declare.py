"""AWS Secrets Manager: the environment's key and secrets, ESO's identity, the store's provider block.

Turns ``AwsSettings`` and the catalog into the arguments of ``components/aws``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.eso_identity import AwsEsoCluster, AwsEsoIdentity, AwsEsoIdentityArgs
from components.aws.network_isolation import AwsNetworkIsolation, AwsNetworkIsolationArgs
from components.aws.rotation import AwsRotation, AwsRotationArgs
from components.aws.secrets_manager import AwsSecretsManager, AwsSecretsManagerArgs
from components.eso import ESO_SERVICE_ACCOUNT
from components.service_account import ServiceAccount
from infra.backends.aws.settings import AwsSettings, CreateEndpoints, Irsa, PodIdentity
from infra.backends.base import Declared, RemoteRef
from infra.catalog import App, Catalog
from infra.clusters import Cluster, regions
from infra.fields import PROJECT


def store_provider(settings: AwsSettings, eso: ServiceAccount = ESO_SERVICE_ACCOUNT, read_region: str | None = None) -> dict[str, Any]:
    """The ClusterSecretStore ``spec.provider`` block; ``read_region``: a replica's region to read (failover)."""
    block: dict[str, Any] = {"service": "SecretsManager", "region": read_region or settings.region}
    if isinstance(settings.trust, Irsa):
        block["auth"] = {"jwt": {"serviceAccountRef": eso.ref()}}
    # With Pod Identity there is no auth block: ESO uses the controller's own
    # credentials (a serviceAccountRef is refused in that mode).
    return {"aws": block}


def tags(app: App, environment: str) -> dict[str, str]:
    return {"app": app.name, "environment": environment, "managed-by": "pulumi", "pulumi-project": PROJECT}


def declare(
    environment: str,
    settings: AwsSettings,
    secrets: Catalog,
    k8s_provider: k8s.Provider,
    eso: ServiceAccount,
    clusters: Sequence[Cluster] = (),
    k8s_providers: Mapping[str, k8s.Provider] | None = None,
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
    home, *others = clusters or (None,)
    # Every other region a cluster runs in holds a replica of every secret, under a key of its own.
    regional = {
        region: aws.Provider(
            f"aws-{region}", region=region, allowed_account_ids=[settings.account_id], default_tags={"tags": stack_tags}, insecure=False
        )
        for region in regions(tuple(clusters), settings.region or "")[1:]
    }
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
            replicas=regional,
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
            replicas=stored.replica_kms_key_arns,
            more_clusters=[_eso_cluster(c, regional.get(c.backend.region, provider)) for c in others],
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
    if regional:
        outputs["awsReplicaKmsKeyArns"] = stored.replica_kms_key_arns
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

    def declared(cluster_eso: ServiceAccount, read_region: str | None, **more: Any) -> Declared:
        return Declared(
            store_name=settings.store_name,
            store_provider=store_provider(settings, cluster_eso, read_region),
            remote_ref=lambda e: RemoteRef(app.grouped_path(environment, e.group), e.key),
            service_account_annotations=identity.service_account_annotations,
            grants=tuple(identity.grants),
            **more,
        )

    # One role for every cluster: the clusters read the same names (replicas of the same secrets),
    # so a role per cluster would grant the same rights twice; the existing role keeps its name.
    return declared(
        eso,
        (home.read_region or home.backend.region) if home else None,
        outputs=outputs,
        clusters={c.name: declared(c.common.eso_account, c.read_region or c.backend.region) for c in others},
    )


def _eso_cluster(cluster: Cluster, provider: aws.Provider) -> AwsEsoCluster:
    b = cluster.backend
    trust = b.trust
    return AwsEsoCluster(
        name=cluster.name,
        eso=cluster.common.eso_account,
        oidc_provider_arn=trust.oidc_provider_arn if isinstance(trust, Irsa) else None,
        # As EKS tags a Pod Identity session with it (``eks-cluster-arn``).
        pod_identity_cluster_arn=f"arn:{b.partition}:eks:{b.region}:{b.account_id}:cluster/{trust.cluster_name}"
        if isinstance(trust, PodIdentity)
        else None,
        provider=provider,
    )

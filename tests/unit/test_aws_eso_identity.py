"""AwsEsoIdentity built alone, in both trust modes, from known settings."""

from __future__ import annotations

import json

import pytest

from infra.backends.aws.eso_identity import AwsEsoIdentity, AwsEsoIdentityArgs
from infra.backends.aws.settings import AwsSettings
from infra.components.eso import ServiceAccount
from stacktools.recorder import declare
from tests.support import settings

OIDC = "arn:aws-cn:iam::210987654321:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/0123456789ABCDEF0123456789ABCDEF"
BASE = {"awsRegion": "cn-north-1", "awsAccountId": "210987654321", "awsIdentity": "irsa", "awsOidcProviderArn": OIDC}
ESO = ServiceAccount("ns-x", "sa-y")


def _plan(**changes):
    aws_settings = settings(AwsSettings, **{**BASE, **changes})
    return declare(
        lambda: AwsEsoIdentity(
            "id",
            AwsEsoIdentityArgs(environment="unit", settings=aws_settings, name_prefix="aragora/unit/", kms_key_arn="arn:aws-cn:kms:cn-north-1:210987654321:key/k", eso=ESO),
        )
    )


def test_irsa_trust_names_the_provider_and_exactly_the_given_service_account():
    (st,) = json.loads(_plan().one("aws:iam/role:Role")["inputs"]["assumeRolePolicy"])["Statement"]
    issuer = OIDC.split(":oidc-provider/")[1]
    assert st["Principal"] == {"Federated": OIDC}
    assert st["Condition"] == {"StringEquals": {f"{issuer}:sub": "system:serviceaccount:ns-x:sa-y", f"{issuer}:aud": "sts.amazonaws.com"}}


def test_the_read_policy_uses_the_partition_region_and_account_of_the_settings():
    read, decrypt = json.loads(_plan().one("aws:iam/policy:Policy")["inputs"]["policy"])["Statement"]
    assert read["Resource"] == "arn:aws-cn:secretsmanager:cn-north-1:210987654321:secret:aragora/unit/*"
    assert decrypt["Resource"] == "arn:aws-cn:kms:cn-north-1:210987654321:key/k"
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.cn-north-1.amazonaws.com"}}


@pytest.mark.parametrize("cluster", ["c-one", "other_cluster"])
def test_pod_identity_declares_the_association_for_the_given_cluster_and_no_annotation(cluster):
    plan = _plan(awsIdentity="pod-identity", awsEksClusterName=cluster)
    association = plan.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")["inputs"]
    assert (association["clusterName"], association["namespace"], association["serviceAccount"]) == (cluster, "ns-x", "sa-y")
    (st,) = json.loads(plan.one("aws:iam/role:Role")["inputs"]["assumeRolePolicy"])["Statement"]
    assert st["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    # Pinned to the cluster, in the settings' partition, region and account.
    assert st["Condition"]["StringEquals"]["aws:RequestTag/eks-cluster-arn"] == f"arn:aws-cn:eks:cn-north-1:210987654321:cluster/{cluster}"
    assert association["disableSessionTags"] is False

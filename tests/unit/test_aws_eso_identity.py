"""AwsEsoIdentity built alone, in both trust modes, from explicit arguments."""

from __future__ import annotations

import json

import pytest

from components.aws.eso_identity import AwsEsoIdentity, AwsEsoIdentityArgs
from components.service_account import ServiceAccount
from tests.unit.harness import declare

OIDC = "arn:aws-cn:iam::210987654321:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/0123456789ABCDEF0123456789ABCDEF"
ESO = ServiceAccount("ns-x", "sa-y")
WHERE = {"partition": "aws-cn", "region": "cn-north-1", "account_id": "210987654321"}


def _plan(**trust):
    trust = trust or {"oidc_provider_arn": OIDC}
    return declare(
        lambda: AwsEsoIdentity(
            "id",
            AwsEsoIdentityArgs(
                role_name="r-unit", policy_name="p-unit", subject="App unit", secret_name_prefix="app/unit/",
                kms_key_arn="arn:aws-cn:kms:cn-north-1:210987654321:key/k", eso=ESO, tags={"t": "v"}, **WHERE, **trust,
            ),
        )
    )


def test_irsa_trust_names_the_provider_and_exactly_the_given_service_account():
    plan = _plan()
    role = plan.one("aws:iam/role:Role")["inputs"]
    (st,) = json.loads(role["assumeRolePolicy"])["Statement"]
    issuer = OIDC.split(":oidc-provider/")[1]
    assert st["Principal"] == {"Federated": OIDC}
    assert st["Condition"] == {"StringEquals": {f"{issuer}:sub": "system:serviceaccount:ns-x:sa-y", f"{issuer}:aud": "sts.amazonaws.com"}}
    assert role["name"] == "r-unit" and role["tags"] == {"t": "v"}
    assert plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []


def test_the_read_policy_uses_the_given_names_partition_region_and_account():
    policy = _plan().one("aws:iam/policy:Policy")["inputs"]
    assert policy["name"] == "p-unit" and "App unit" in policy["description"]
    read, decrypt = json.loads(policy["policy"])["Statement"]
    assert read["Resource"] == "arn:aws-cn:secretsmanager:cn-north-1:210987654321:secret:app/unit/*"
    assert decrypt["Resource"] == "arn:aws-cn:kms:cn-north-1:210987654321:key/k"
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.cn-north-1.amazonaws.com"}}


@pytest.mark.parametrize("cluster", ["c-one", "other_cluster"])
def test_pod_identity_declares_the_association_for_the_given_cluster_and_no_annotation(cluster):
    plan = _plan(pod_identity_cluster=cluster)
    association = plan.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")["inputs"]
    assert (association["clusterName"], association["namespace"], association["serviceAccount"]) == (cluster, "ns-x", "sa-y")
    (st,) = json.loads(plan.one("aws:iam/role:Role")["inputs"]["assumeRolePolicy"])["Statement"]
    assert st["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    # Pinned to the cluster, in the given partition, region and account.
    assert st["Condition"]["StringEquals"]["aws:RequestTag/eks-cluster-arn"] == f"arn:aws-cn:eks:cn-north-1:210987654321:cluster/{cluster}"
    assert association["disableSessionTags"] is False


@pytest.mark.parametrize("trust", [{}, {"oidc_provider_arn": OIDC, "pod_identity_cluster": "c"}])
def test_exactly_one_trust_mode_is_required(trust):
    with pytest.raises(ValueError, match="exactly one of oidc_provider_arn"):
        AwsEsoIdentityArgs(role_name="r", policy_name="p", subject="s", secret_name_prefix="x/", kms_key_arn="k", eso=ESO, **WHERE, **trust)

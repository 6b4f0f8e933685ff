"""The ESO IAM identity: exactly what ESO needs, for exactly one environment."""

from __future__ import annotations

import pytest

from components.eso_api import CLUSTER_SECRET_STORE_TYPE
from tests.support import doc, plans_of, render_named

POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"


AWS_PLANS = plans_of("aws")
POD_IDENTITY = {"awsIdentity": "pod-identity", "awsEksClusterName": "aragora-example"}


@pytest.fixture(params=AWS_PLANS)
def aws_plan(request):
    return render_named(request.param)


def _statements(document: dict) -> list[dict]:
    return document["Statement"]


@pytest.mark.one_cluster
def test_irsa_trust_accepts_only_the_eso_service_account_of_this_cluster(aws_plan):
    arn = aws_plan.setting("awsOidcProviderArn")
    issuer = arn.split(":oidc-provider/", 1)[1]
    trust = doc(aws_plan.one(ROLE), "assumeRolePolicy")
    (statement,) = _statements(trust)
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Federated": arn}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{issuer}:sub": "system:serviceaccount:external-secrets:external-secrets",
            f"{issuer}:aud": "sts.amazonaws.com",
        }
    }
    assert not issuer.startswith("https://")


@pytest.mark.one_cluster
def test_read_policy_allows_only_get_and_describe_on_this_environments_prefix(aws_plan):
    account = aws_plan.setting("awsAccountId")
    region = aws_plan.setting("awsRegion")
    policy = doc(aws_plan.one(POLICY), "policy")
    read, decrypt = _statements(policy)
    assert sorted(read["Action"]) == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert read["Resource"] == f"arn:aws:secretsmanager:{region}:{account}:secret:aragora/{aws_plan.stack}/*"
    assert "Condition" not in read


@pytest.mark.one_cluster
def test_kms_decrypt_is_limited_to_this_key_through_secrets_manager(aws_plan):
    region = aws_plan.setting("awsRegion")
    key_arn = aws_plan.outputs["awsKmsKeyArn"]
    _, decrypt = _statements(doc(aws_plan.one(POLICY), "policy"))
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"] == key_arn
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}


def test_no_wildcard_action_or_resource_in_any_iam_document(aws_plan):
    documents = [doc(r, "policy") for r in aws_plan.of_type(POLICY)] + [
        doc(r, "assumeRolePolicy") for r in aws_plan.of_type(ROLE)
    ]
    assert documents
    for document in documents:
        for statement in _statements(document):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in a for a in actions), actions
            assert statement.get("Resource") != "*"
            assert "NotAction" not in statement and "NotResource" not in statement


def test_policy_is_attached_to_the_role_it_was_written_for(aws_plan):
    attachment = aws_plan.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    role = aws_plan.one(ROLE)
    policy = aws_plan.one(POLICY)
    assert attachment["inputs"]["role"] == role["inputs"]["name"] == f"aragora-{aws_plan.stack}-eso"
    assert attachment["inputs"]["policyArn"].endswith(f":policy/{policy['inputs']['name']}")


@pytest.mark.one_cluster
def test_eso_service_account_is_annotated_with_the_role_it_may_assume(aws_plan):
    release = aws_plan.one("kubernetes:helm.sh/v3:Release")
    annotations = release["inputs"]["values"]["serviceAccount"]["annotations"]
    assert annotations == {"eks.amazonaws.com/role-arn": aws_plan.outputs["awsRoleArn"]}
    assert aws_plan.outputs["awsRoleArn"] == f"arn:aws:iam::{aws_plan.setting('awsAccountId')}:role/aragora-{aws_plan.stack}-eso"


@pytest.mark.one_cluster
@pytest.mark.parametrize("name", AWS_PLANS)
def test_pod_identity_mode_trusts_eks_pods_scoped_to_the_eso_service_account(name):
    plan = render_named(name, **POD_IDENTITY)
    (statement,) = _statements(doc(plan.one(ROLE), "assumeRolePolicy"))
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert statement["Condition"]["StringEquals"] == {
        "aws:SourceAccount": plan.setting("awsAccountId"),
        "aws:RequestTag/eks-cluster-arn": f"arn:aws:eks:{plan.setting('awsRegion')}:{plan.setting('awsAccountId')}:cluster/aragora-example",
        "aws:RequestTag/kubernetes-namespace": "external-secrets",
        "aws:RequestTag/kubernetes-service-account": "external-secrets",
    }
    association = plan.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert association["inputs"]["clusterName"] == "aragora-example"
    assert association["inputs"]["namespace"] == "external-secrets"
    assert association["inputs"]["serviceAccount"] == "external-secrets"
    assert association["inputs"]["roleArn"] == plan.outputs["awsRoleArn"]
    # The conditions above match on these session tags: they must stay on.
    assert association["inputs"]["disableSessionTags"] is False


@pytest.mark.one_cluster
@pytest.mark.parametrize("name", AWS_PLANS)
def test_pod_identity_store_has_no_auth_block_and_no_irsa_annotation(name):
    plan = render_named(name, **POD_IDENTITY)
    store = plan.one(CLUSTER_SECRET_STORE_TYPE)
    assert store["inputs"]["spec"]["provider"] == {"aws": {"service": "SecretsManager", "region": plan.setting("awsRegion")}}
    release = plan.one("kubernetes:helm.sh/v3:Release")
    assert release["inputs"]["values"]["serviceAccount"]["annotations"] == {}


def test_irsa_mode_declares_no_pod_identity_association(aws_plan):
    assert aws_plan.setting("awsIdentity") == "irsa"
    assert aws_plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []

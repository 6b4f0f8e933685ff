"""The ESO IAM identity: exactly what ESO needs, for exactly one environment."""

from __future__ import annotations

import pytest

from tests.conftest import doc, render, stack_file_value

POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"


def _statements(document: dict) -> list[dict]:
    return document["Statement"]


def test_irsa_trust_accepts_only_the_eso_service_account_of_this_cluster(stack_plan):
    arn = stack_file_value(stack_plan.stack, "awsOidcProviderArn")
    issuer = arn.split(":oidc-provider/", 1)[1]
    trust = doc(stack_plan.one(ROLE), "assumeRolePolicy")
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


def test_read_policy_allows_only_get_and_describe_on_this_environments_prefix(stack_plan):
    account = stack_file_value(stack_plan.stack, "awsAccountId")
    region = stack_file_value(stack_plan.stack, "awsRegion")
    policy = doc(stack_plan.one(POLICY), "policy")
    read, decrypt = _statements(policy)
    assert sorted(read["Action"]) == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert read["Resource"] == f"arn:aws:secretsmanager:{region}:{account}:secret:aragora/{stack_plan.stack}/*"
    assert "Condition" not in read


def test_kms_decrypt_is_limited_to_this_key_through_secrets_manager(stack_plan):
    region = stack_file_value(stack_plan.stack, "awsRegion")
    key_arn = stack_plan.outputs["awsKmsKeyArn"]
    _, decrypt = _statements(doc(stack_plan.one(POLICY), "policy"))
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"] == key_arn
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}


def test_no_wildcard_action_or_resource_in_any_iam_document(stack_plan):
    documents = [doc(r, "policy") for r in stack_plan.of_type(POLICY)] + [
        doc(r, "assumeRolePolicy") for r in stack_plan.of_type(ROLE)
    ]
    assert documents
    for document in documents:
        for statement in _statements(document):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in a for a in actions), actions
            assert statement.get("Resource") != "*"
            assert "NotAction" not in statement and "NotResource" not in statement


def test_policy_is_attached_to_the_role_it_was_written_for(stack_plan):
    attachment = stack_plan.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    role = stack_plan.one(ROLE)
    policy = stack_plan.one(POLICY)
    assert attachment["inputs"]["role"] == role["inputs"]["name"] == f"aragora-{stack_plan.stack}-eso"
    assert attachment["inputs"]["policyArn"].endswith(f":policy/{policy['inputs']['name']}")


def test_eso_service_account_is_annotated_with_the_role_it_may_assume(stack_plan):
    release = stack_plan.one("kubernetes:helm.sh/v3:Release")
    annotations = release["inputs"]["values"]["serviceAccount"]["annotations"]
    assert annotations == {"eks.amazonaws.com/role-arn": stack_plan.outputs["awsRoleArn"]}
    assert stack_plan.outputs["awsRoleArn"] == f"arn:aws:iam::{stack_file_value(stack_plan.stack, 'awsAccountId')}:role/aragora-{stack_plan.stack}-eso"


def test_pod_identity_mode_trusts_eks_pods_scoped_to_the_eso_service_account():
    plan = render("staging", awsIdentity="pod-identity", awsEksClusterName="aragora-staging")
    (statement,) = _statements(doc(plan.one(ROLE), "assumeRolePolicy"))
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert statement["Condition"]["StringEquals"] == {
        "aws:SourceAccount": "111122223333",
        "aws:RequestTag/kubernetes-namespace": "external-secrets",
        "aws:RequestTag/kubernetes-service-account": "external-secrets",
    }
    association = plan.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert association["inputs"]["clusterName"] == "aragora-staging"
    assert association["inputs"]["namespace"] == "external-secrets"
    assert association["inputs"]["serviceAccount"] == "external-secrets"
    assert association["inputs"]["roleArn"] == plan.outputs["awsRoleArn"]


def test_pod_identity_store_has_no_auth_block_and_no_irsa_annotation():
    plan = render("staging", awsIdentity="pod-identity", awsEksClusterName="aragora-staging")
    store = plan.one("kubernetes:external-secrets.io/v1:ClusterSecretStore")
    assert store["inputs"]["spec"]["provider"] == {"aws": {"service": "SecretsManager", "region": "us-east-1"}}
    release = plan.one("kubernetes:helm.sh/v3:Release")
    assert release["inputs"]["values"]["serviceAccount"]["annotations"] == {}


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_irsa_mode_declares_no_pod_identity_association(stack):
    assert render(stack).of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []

"""The ESO IAM identity: exactly what ESO needs, for exactly one environment."""

from __future__ import annotations

import pytest

from components.eso_api import CLUSTER_SECRET_STORE_TYPE
from tests.support import aws_region_of, clusters_of, doc, one_through, plans_of, read_region, render_named

POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"


AWS_PLANS = plans_of("aws")
POD_IDENTITY = {"awsIdentity": "pod-identity", "awsEksClusterName": "aragora-example"}


@pytest.fixture(params=AWS_PLANS)
def aws_plan(request):
    return render_named(request.param)


def _statements(document: dict) -> list[dict]:
    return document["Statement"]


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_irsa_trust_accepts_only_the_eso_service_account_of_each_cluster(aws_plan):
    # One statement per cluster issuer (clusters sharing one issuer share its statement), and nothing else.
    expected = []
    for arn in dict.fromkeys(keys["awsOidcProviderArn"] for keys in clusters_of(aws_plan).values()):
        issuer = arn.split(":oidc-provider/", 1)[1]
        assert not issuer.startswith("https://")
        expected.append({
            "Effect": "Allow",
            "Principal": {"Federated": arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer}:sub": "system:serviceaccount:external-secrets:external-secrets",
                    f"{issuer}:aud": "sts.amazonaws.com",
                }
            },
        })
    assert _statements(doc(aws_plan.one(ROLE), "assumeRolePolicy")) == expected


def _regions(plan) -> list[str]:
    """The regions of the stack's clusters (the primary, the top-level awsRegion, first), from its stack file."""
    return list(dict.fromkeys([plan.setting("awsRegion"), *(k["awsRegion"] for k in clusters_of(plan).values())]))


def test_read_policy_allows_only_get_and_describe_on_this_environments_prefix_in_each_cluster_region(aws_plan):
    account = aws_plan.setting("awsAccountId")
    read, *_ = _statements(doc(aws_plan.one(POLICY), "policy"))
    assert sorted(read["Action"]) == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert sorted(_as_list(read["Resource"])) == sorted(
        f"arn:aws:secretsmanager:{region}:{account}:secret:aragora/{aws_plan.stack}/*" for region in _regions(aws_plan)
    )
    assert "Condition" not in read


def test_kms_decrypt_is_limited_to_each_regions_key_through_secrets_manager_there(aws_plan):
    account = aws_plan.setting("awsAccountId")
    _, *decrypts = _statements(doc(aws_plan.one(POLICY), "policy"))
    keys = {aws_region_of(aws_plan, k): k for k in aws_plan.of_type("aws:kms/key:Key")}
    arns = {aws_plan.outputs["awsKmsKeyArn"], *aws_plan.outputs.get("awsReplicaKmsKeyArns", {}).values()}
    assert sorted(keys) == sorted(_regions(aws_plan))
    granted = {}
    for decrypt in decrypts:
        assert decrypt["Action"] == "kms:Decrypt"
        # Each key is used only through Secrets Manager in that key's own region.
        region = decrypt["Resource"].split(":")[3]
        assert decrypt["Resource"].startswith(f"arn:aws:kms:{region}:{account}:key/") and decrypt["Resource"] in arns
        assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}
        granted[region] = decrypt["Resource"]
    assert len(granted) == len(decrypts)
    assert sorted(granted) == sorted(_regions(aws_plan))


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


def test_each_clusters_eso_service_account_is_annotated_with_the_role_it_may_assume(aws_plan):
    role = f"arn:aws:iam::{aws_plan.setting('awsAccountId')}:role/aragora-{aws_plan.stack}-eso"
    assert aws_plan.outputs["awsRoleArn"] == role
    for name, keys in clusters_of(aws_plan).items():
        release = one_through(aws_plan, keys, "kubernetes:helm.sh/v3:Release")
        assert release["inputs"]["values"]["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": role}, name


@pytest.mark.parametrize("name", AWS_PLANS)
def test_pod_identity_mode_trusts_eks_pods_of_each_cluster_scoped_to_the_eso_service_account(name):
    plan = render_named(name, **POD_IDENTITY)
    account = plan.setting("awsAccountId")
    clusters = clusters_of(plan)
    cluster_arns = {
        f"arn:aws:eks:{keys['awsRegion']}:{account}:cluster/{keys['awsEksClusterName']}" for keys in clusters.values()
    }
    statements = _statements(doc(plan.one(ROLE), "assumeRolePolicy"))
    assert len(statements) == len(cluster_arns)
    for statement in statements:
        assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert sorted((s["Condition"]["StringEquals"] for s in statements), key=str) == sorted(
        (
            {
                "aws:SourceAccount": account,
                "aws:RequestTag/eks-cluster-arn": arn,
                "aws:RequestTag/kubernetes-namespace": "external-secrets",
                "aws:RequestTag/kubernetes-service-account": "external-secrets",
            }
            for arn in cluster_arns
        ),
        key=str,
    )
    # One association per cluster, in that cluster's region.
    associations = plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert sorted((aws_region_of(plan, a), a["inputs"]["clusterName"]) for a in associations) == sorted(
        (keys["awsRegion"], keys["awsEksClusterName"]) for keys in clusters.values()
    )
    for association in associations:
        assert association["inputs"]["namespace"] == "external-secrets"
        assert association["inputs"]["serviceAccount"] == "external-secrets"
        assert association["inputs"]["roleArn"] == f"arn:aws:iam::{account}:role/aragora-{plan.stack}-eso"
        # The conditions above match on these session tags: they must stay on.
        assert association["inputs"]["disableSessionTags"] is False


@pytest.mark.parametrize("name", AWS_PLANS)
def test_pod_identity_stores_have_no_auth_block_and_no_irsa_annotation(name):
    plan = render_named(name, **POD_IDENTITY)
    for cluster, keys in clusters_of(plan).items():
        store = one_through(plan, keys, CLUSTER_SECRET_STORE_TYPE)
        assert store["inputs"]["spec"]["provider"] == {"aws": {"service": "SecretsManager", "region": read_region(keys)}}, cluster
        release = one_through(plan, keys, "kubernetes:helm.sh/v3:Release")
        assert release["inputs"]["values"]["serviceAccount"]["annotations"] == {}, cluster


def test_irsa_mode_declares_no_pod_identity_association(aws_plan):
    assert aws_plan.setting("awsIdentity") == "irsa"
    assert aws_plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") == []

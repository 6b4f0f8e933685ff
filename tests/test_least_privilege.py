"""Least privilege proven with real IAM tools on the documents the plan renders."""

from __future__ import annotations

import json
import re

import pytest
from cloudsplaining.scan.policy_document import PolicyDocument
from moto.iam.access_control import IAMPolicy, PermissionResult
from parliament import analyze_policy_string

from stacktools import plan as plan_cmd
from tests.support import PLANS, SETS, plans_of, render, render_named

POD_IDENTITY = {"awsIdentity": "pod-identity", "awsEksClusterName": "aragora-example"}
AWS_PLANS = {
    **{name: (name, {}) for name in plans_of("aws")},
    **{f"{name}-pod-identity": (name, POD_IDENTITY) for name in plans_of("aws")},
}
# Environments deployed side by side on AWS: each identity is checked against all of them.
AWS_SET = {name: spec for name, spec in SETS["project"].items() if render(*spec).setting("backend") == "aws"}
OIDC_ARN = re.compile(r"^arn:aws:iam::\d{12}:oidc-provider/oidc\.eks\.[a-z0-9-]+\.amazonaws\.com/id/[A-Z0-9]{32}$")


def _documents(name: str) -> dict[str, str]:
    plan_name, overrides = AWS_PLANS[name]
    return plan_cmd.policy_documents(render_named(plan_name, **overrides))


def _trust_exception(finding, document: dict) -> bool:
    """Parliament lints identity policies; two findings are inherent to every trust policy.

    A trust policy has a Principal and no Resource (MALFORMED "neither Resource
    nor NotResource"), and parliament only knows a fixed list of federation
    sources, not per-cluster EKS OIDC providers. Anything else still fails.
    """
    if finding.issue == "MALFORMED" and "neither Resource nor NotResource" in str(finding.detail):
        return True
    if finding.issue == "UNKNOWN_FEDERATION_SOURCE":
        federated = [s["Principal"].get("Federated") for s in document["Statement"]]
        return all(OIDC_ARN.match(f or "") for f in federated) and str(finding.detail) in federated
    return False


@pytest.mark.parametrize("plan_name", list(AWS_PLANS))
def test_parliament_finds_nothing_in_any_rendered_iam_document(plan_name):
    documents = _documents(plan_name)
    assert len(documents) == 2
    for fname, text in documents.items():
        findings = analyze_policy_string(text, include_community_auditors=True).findings
        if fname.endswith("-trust.json"):
            findings = [f for f in findings if not _trust_exception(f, json.loads(text))]
        assert findings == [], (fname, [(f.issue, f.detail) for f in findings])


@pytest.mark.parametrize("plan_name", list(AWS_PLANS))
def test_cloudsplaining_reports_no_escalation_exfiltration_or_exposure(plan_name):
    for fname, text in _documents(plan_name).items():
        if fname.endswith("-trust.json"):
            continue
        doc = PolicyDocument(json.loads(text))
        assert doc.allows_privilege_escalation == []
        assert doc.allows_data_exfiltration_actions == []
        assert doc.permissions_management_without_constraints == []  # resource exposure
        assert doc.write_actions_without_constraints == []
        assert doc.infrastructure_modification == []
        assert doc.credentials_exposure == []
        assert doc.all_allowed_unrestricted_actions == []


ACTIONS = [
    "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret", "secretsmanager:CreateSecret",
    "secretsmanager:ListSecrets", "secretsmanager:ListSecretVersionIds", "secretsmanager:GetResourcePolicy",
    "secretsmanager:PutResourcePolicy", "secretsmanager:RotateSecret", "secretsmanager:TagResource",
    "secretsmanager:BatchGetSecretValue", "secretsmanager:RestoreSecret",
]
READ = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}


@pytest.mark.parametrize("identity", sorted(AWS_SET))
def test_access_matrix_each_identity_reads_only_its_own_secrets(identity):
    plans = {env: render(*spec) for env, spec in AWS_SET.items()}
    policy = IAMPolicy(plans[identity].one("aws:iam/policy:Policy")["inputs"]["policy"])
    checked = 0
    for env, plan in plans.items():
        for arn in plan.outputs["awsSecretArns"].values():
            for action in ACTIONS:
                allowed = policy.is_action_permitted(action, arn) == PermissionResult.PERMITTED
                assert allowed == (env == identity and action in READ), (identity, action, arn)
                checked += 1
    assert checked == sum(len(p.outputs["awsSecretArns"]) for p in plans.values()) * len(ACTIONS) > 0


@pytest.mark.parametrize("identity", sorted(AWS_SET))
def test_access_matrix_kms_decrypt_only_own_key_only_through_secrets_manager(identity):
    plans = {env: render(*spec) for env, spec in AWS_SET.items()}
    policy = IAMPolicy(plans[identity].one("aws:iam/policy:Policy")["inputs"]["policy"])
    region = plans[identity].setting("awsRegion")
    via_sm = {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
    via_s3 = {"kms:ViaService": f"s3.{region}.amazonaws.com"}
    for env, plan in plans.items():
        key = plan.outputs["awsKmsKeyArn"]
        own = env == identity
        assert (policy.is_action_permitted("kms:Decrypt", key, incoming_condition_values=via_sm) == PermissionResult.PERMITTED) == own
        assert policy.is_action_permitted("kms:Decrypt", key, incoming_condition_values=via_s3) != PermissionResult.PERMITTED
        for action in ("kms:Encrypt", "kms:GenerateDataKey", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"):
            assert policy.is_action_permitted(action, key, incoming_condition_values=via_sm) != PermissionResult.PERMITTED
    for action in ("iam:PassRole", "sts:AssumeRole", "s3:GetObject", "ssm:GetParameter"):
        assert policy.is_action_permitted(action, "*") != PermissionResult.PERMITTED


def test_gcp_access_is_one_binding_per_secret_for_one_member_per_environment():
    for name in plans_of("gcp"):
        stack, path = PLANS[name]
        plan = render(stack, path)
        bindings = plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
        secrets = plan.of_type("gcp:secretmanager/secret:Secret")
        assert len(bindings) == len(secrets)
        assert all(f"/secrets/aragora-{stack}-" in b["inputs"]["secretId"] for b in bindings)

"""Least privilege proven with real IAM tools on the documents the plan renders."""

from __future__ import annotations

import json
import re

import pytest
from cloudsplaining.scan.policy_document import PolicyDocument
from parliament import analyze_policy_string

from stacktools import plan as plan_cmd
from tests.support import PLANS, plans_of, render, render_named

POD_IDENTITY = {"awsIdentity": "pod-identity", "awsEksClusterName": "aragora-example"}
AWS_PLANS = {
    **{name: (name, {}) for name in plans_of("aws")},
    **{f"{name}-pod-identity": (name, POD_IDENTITY) for name in plans_of("aws")},
}
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


# The access matrix (who can read, decrypt, assume) runs on a strict evaluator:
# tests/test_access_matrix.py. moto's evaluator skips condition keys absent
# from a request, so it cannot prove a kms:ViaService condition.


def test_gcp_access_is_one_binding_per_secret_for_one_member_per_environment():
    for name in plans_of("gcp"):
        stack, path = PLANS[name]
        plan = render(stack, path)
        bindings = plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
        secrets = plan.of_type("gcp:secretmanager/secret:Secret")
        assert len(bindings) == len(secrets)
        assert all(f"/secrets/aragora-{stack}-" in b["inputs"]["secretId"] for b in bindings)

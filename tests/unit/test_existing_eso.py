"""ExistingExternalSecretsOperator built alone: one annotation patch of the given account, or nothing."""

from __future__ import annotations

from components.existing_eso import ExistingExternalSecretsOperator, ExistingExternalSecretsOperatorArgs
from components.service_account import ServiceAccount
from tests.unit.harness import declare

ACCOUNT = ServiceAccount("ns-unit", "sa-unit")


def test_the_annotations_are_patched_onto_the_given_account_and_nothing_else_is_declared():
    plan = declare(lambda: ExistingExternalSecretsOperator("ex", ExistingExternalSecretsOperatorArgs(ACCOUNT, {"k/a": "v1"})))
    (patch,) = [r for r in plan.resources if r["custom"]]
    assert patch["type"] == "kubernetes:core/v1:ServiceAccountPatch" and patch["name"] == "ex-identity"
    assert patch["inputs"]["metadata"] == {"name": "sa-unit", "namespace": "ns-unit", "annotations": {"k/a": "v1"}}
    assert patch["parent"] == plan.one("aragora:eso:ExistingExternalSecretsOperator")["urn"]


def test_without_annotations_nothing_is_patched():
    plan = declare(lambda: ExistingExternalSecretsOperator("ex", ExistingExternalSecretsOperatorArgs(ACCOUNT)))
    assert [r for r in plan.resources if r["custom"]] == []

"""GCP Secret Manager: the CrossGuard rules and value-writing types of this backend (loaded by ``policy/rules.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulumi_policy import ReportViolation, ResourceValidationArgs

ACCESSOR = "roles/secretmanager.secretAccessor"
VALUE_TYPES = ("gcp:secretmanager/secretVersion:SecretVersion",)


def build(kit: Any) -> list:
    _rule, _document, _statements, _stack, _as_list = kit.rule, kit.document, kit.statements, kit.stack_of, kit.as_list

    @_rule(
        "gcp-no-project-secret-accessor",
        "GCP: secretAccessor only per secret, never on the project.",
        "gcp:projects/iAMMember:IAMMember",
        "gcp:projects/iAMBinding:IAMBinding",
        "gcp:projects/iAMPolicy:IAMPolicy",
    )
    def gcp_no_project_secret_accessor(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type == "gcp:projects/iAMPolicy:IAMPolicy":
            policy = _document(args.props.get("policyData"))
            if policy and any(b.get("role") == ACCESSOR for b in policy.get("bindings", []) if isinstance(b, dict)):
                report(f"project IAM policy grants {ACCESSOR}; grant it per secret", None)
        elif args.props.get("role") == ACCESSOR:
            report(f"project-level {ACCESSOR} exposes every secret in the project; grant it per secret", None)

    @_rule(
        "gcp-secret-deletion-protection",
        "GCP Secret Manager secrets have deletion protection.",
        "gcp:secretmanager/secret:Secret",
    )
    def gcp_secret_deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.props.get("deletionProtection") is not True:
            report("deletionProtection is not true", None)

    return [gcp_no_project_secret_accessor, gcp_secret_deletion_protection]

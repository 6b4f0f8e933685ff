"""AWS Secrets Manager: the CrossGuard rules and value-writing types of this backend (loaded by ``policy/rules.py``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulumi_policy import ReportViolation, ResourceValidationArgs

_SA_SUBJECT = re.compile(r"^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
VALUE_TYPES = ("aws:secretsmanager/secretVersion:SecretVersion",)


def build(kit: Any) -> list:
    _rule, _document, _statements, _stack, _as_list = kit.rule, kit.document, kit.statements, kit.stack_of, kit.as_list

    @_rule(
        "iam-least-privilege",
        "IAM policies: no wildcard actions, secret reads scoped to aragora/<env>/, kms:Decrypt only via Secrets Manager.",
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
    )
    def iam_least_privilege(args: ResourceValidationArgs, report: ReportViolation) -> None:
        doc = _document(args.props.get("policy"))
        if doc is None:
            return
        env_path = f"aragora/{_stack(args.urn)}/"
        env_prefix = f":secret:{env_path}"
        for st in _statements(doc):
            if "NotAction" in st or "NotResource" in st:
                report("NotAction/NotResource grant everything else; list what is allowed instead", None)
            actions = [a for a in _as_list(st.get("Action", [])) if isinstance(a, str)]
            resources = [r for r in _as_list(st.get("Resource", [])) if isinstance(r, str)]
            for action in actions:
                if action == "*" or action.endswith(":*"):
                    report(f"wildcard action {action!r}: name the actions", None)
            secret_actions = [a for a in actions if a.lower().startswith("secretsmanager:")]
            if secret_actions:
                for resource in resources:
                    if resource == "*":
                        report(f"{secret_actions} on Resource '*': scope secret reads to aragora/<env>/", None)
                    elif env_prefix not in resource:
                        report(f"secret ARN {resource!r} is outside {env_path!r} of stack {_stack(args.urn)!r}", None)
            if any(a.lower() == "kms:decrypt" for a in actions):
                conditions = st.get("Condition", {})
                if not any("kms:ViaService" in block for block in conditions.values() if isinstance(block, dict)):
                    report("kms:Decrypt without a kms:ViaService condition", None)

    @_rule(
        "kms-key-policy-explicit",
        "KMS keys carry an explicit policy: no kms:*, no grant to every principal, data use only through a service of this account.",
        "aws:kms/key:Key",
    )
    def kms_key_policy_explicit(args: ResourceValidationArgs, report: ReportViolation) -> None:
        policy = args.props.get("policy")
        if policy is None:
            report("no key policy: the default lets every IAM administrator of the account decrypt", None)
            return
        doc = _document(policy)
        if doc is None:
            return
        for st in _statements(doc):
            actions = [a for a in _as_list(st.get("Action", [])) if isinstance(a, str)]
            if any(a in ("*", "kms:*") for a in actions):
                report(f"statement {st.get('Sid', '')!r} allows every KMS action: list what is needed", None)
            principal = st.get("Principal")
            everyone = principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS", [])))
            if everyone and st.get("Effect") == "Allow":
                report(f"statement {st.get('Sid', '')!r} grants every principal: delegate to the account root, whose IAM policies then decide", None)
            crypto = {a.lower() for a in actions} & {"kms:decrypt", "kms:encrypt", "kms:generatedatakey", "kms:reencryptfrom", "kms:reencryptto"}
            if crypto and st.get("Effect") == "Allow":
                keys = {k for block in (st.get("Condition") or {}).values() if isinstance(block, dict) for k in block}
                if not {"kms:ViaService", "kms:CallerAccount"} <= keys:
                    report(f"statement {st.get('Sid', '')!r} allows {sorted(crypto)} without kms:ViaService and kms:CallerAccount", None)

    @_rule(
        "irsa-trust-exact",
        "IRSA trust: AssumeRoleWithWebIdentity only with StringEquals on :sub (one exact service account) and :aud; no StringLike wildcards.",
        "aws:iam/role:Role",
    )
    def irsa_trust_exact(args: ResourceValidationArgs, report: ReportViolation) -> None:
        doc = _document(args.props.get("assumeRolePolicy"))
        if doc is None:
            return
        for st in _statements(doc):
            conditions = st.get("Condition", {}) or {}
            for op, block in conditions.items():
                if "Like" in op and any("*" in str(v) or "?" in str(v) for v in (block or {}).values()):
                    report(f"{op} with a wildcard in the trust policy", None)
            if "sts:AssumeRoleWithWebIdentity" not in _as_list(st.get("Action", [])):
                continue
            equals = conditions.get("StringEquals", {}) or {}
            subs = [v for k, v in equals.items() if k.endswith(":sub")]
            auds = [v for k, v in equals.items() if k.endswith(":aud")]
            if len(subs) != 1 or not isinstance(subs[0], str) or not _SA_SUBJECT.match(subs[0]):
                report(
                    "web-identity trust needs StringEquals <issuer>:sub = one exact system:serviceaccount:<ns>:<sa>", None
                )
            if len(auds) != 1:
                report("web-identity trust needs StringEquals <issuer>:aud", None)

    @_rule(
        "secretsmanager-secret-hardened",
        "Secrets Manager secrets: customer-managed KMS key, recovery window >= 7 days, protected.",
        "aws:secretsmanager/secret:Secret",
    )
    def secretsmanager_secret_hardened(args: ResourceValidationArgs, report: ReportViolation) -> None:
        key = args.props.get("kmsKeyId")
        if not key or (isinstance(key, str) and key.endswith("alias/aws/secretsmanager")):
            report("no customer-managed KMS key (kmsKeyId)", None)
        window = args.props.get("recoveryWindowInDays")
        if window is None or (isinstance(window, (int, float)) and window < 7):
            report(f"recoveryWindowInDays {window!r}: at least 7 days (0 deletes immediately)", None)
        if not args.opts.protect:
            report("secret is not protected (protect=True)", None)

    return [iam_least_privilege, kms_key_policy_explicit, irsa_trust_exact, secretsmanager_secret_hardened]

"""Guardrail rules for aragora-secrets, importable without building the PolicyPack.

Each rule is a ``ResourceValidationPolicy``; ``__main__.py`` only puts them in
a pack (constructing ``PolicyPack`` starts the gRPC server and blocks, so tests
call ``RULE.validate(args, report)`` directly). The pack runs in its own
virtualenv, so this module depends on pulumi-policy, the standard library and
``infra.durations`` (itself standard library only) and nothing else.

Values unknown at preview (e.g. a policy document that embeds a key ARN not
created yet) arrive as non-strings and are skipped: ``pulumi up`` validates
them again once known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

# Standard library only, shared with the stack config so both enforce one bound.
from infra.durations import REFRESH_BOUNDS, refresh_interval_allowed

MANDATORY = EnforcementLevel.MANDATORY
ACCESSOR = "roles/secretmanager.secretAccessor"
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_SA_SUBJECT = re.compile(r"^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def _rule(name: str, description: str, *types: str) -> Callable[[Callable], ResourceValidationPolicy]:
    """A MANDATORY rule whose check runs only on resources of ``types``."""

    def wrap(check: Callable[[ResourceValidationArgs, ReportViolation], None]) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if args.resource_type in types:
                check(args, report)

        return ResourceValidationPolicy(
            name=name, description=description, validate=validate, enforcement_level=MANDATORY
        )

    return wrap


def _stack(urn: str) -> str:
    return urn.split("::")[0].removeprefix("urn:pulumi:")


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _document(value: Any) -> dict | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            doc = json.loads(value)
        except json.JSONDecodeError:
            return None
        return doc if isinstance(doc, dict) else None
    return None


def _statements(doc: dict) -> Iterator[dict]:
    for statement in _as_list(doc.get("Statement", [])):
        if isinstance(statement, dict) and statement.get("Effect", "Allow") == "Allow":
            yield statement


# --- AWS ---------------------------------------------------------------------------


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


@_rule(
    "no-secret-values",
    "No resource carries a secret value: values are written by operators, never by the stack.",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "gcp:secretmanager/secretVersion:SecretVersion",
    "vault:kv/secretV2:SecretV2",
    "vault:generic/secret:Secret",
)
def no_secret_values(args: ResourceValidationArgs, report: ReportViolation) -> None:
    report(f"{args.resource_type} puts a secret value into the stack (and its state)", None)


# --- GCP ---------------------------------------------------------------------------


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


# --- Vault -------------------------------------------------------------------------

_FORBIDDEN_CAPABILITIES = {"create", "update", "patch", "delete", "sudo", "list"}


@_rule(
    "vault-policy-read-only",
    "Vault policies grant no create/update/patch/delete/sudo/list.",
    "vault:index/policy:Policy",
)
def vault_policy_read_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    hcl = args.props.get("policy")
    if not isinstance(hcl, str):
        return
    for path, caps in re.findall(r'path\s+"([^"]+)"\s*\{[^}]*?capabilities\s*=\s*\[([^\]]*)\]', hcl, flags=re.S):
        granted = set(re.findall(r'"([a-z]+)"', caps))
        if granted & _FORBIDDEN_CAPABILITIES:
            report(f"path {path!r} grants {sorted(granted & _FORBIDDEN_CAPABILITIES)}", None)
        if "*" in path.replace("/*", "") or path.endswith("+"):
            report(f"path {path!r} uses a glob beyond a trailing /*", None)


@_rule(
    "vault-k8s-role-bound",
    "Vault Kubernetes auth roles are bound to explicit service accounts and namespaces.",
    "vault:kubernetes/authBackendRole:AuthBackendRole",
)
def vault_k8s_role_bound(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for key in ("boundServiceAccountNames", "boundServiceAccountNamespaces"):
        values = args.props.get(key)
        if not isinstance(values, list):
            continue
        if not values or any("*" in str(v) for v in values):
            report(f"{key} {values!r}: bind explicit names, no '*'", None)


# --- ESO ---------------------------------------------------------------------------


@_rule(
    "eso-chart-pinned",
    "The external-secrets Helm chart is pinned to an exact version.",
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:helm.sh/v4:Chart",
)
def eso_chart_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("chart") == "external-secrets" and not _SEMVER.match(str(args.props.get("version") or "")):
        report(f"chart version {args.props.get('version')!r} is not an exact X.Y.Z", None)


def _service_account_refs(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "serviceAccountRef" and isinstance(value, dict):
                yield value
            else:
                yield from _service_account_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _service_account_refs(item)


@_rule(
    "eso-store-sa-namespace",
    "ClusterSecretStores name the namespace of every serviceAccountRef.",
    "kubernetes:external-secrets.io/v1:ClusterSecretStore",
)
def eso_store_sa_namespace(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for ref in _service_account_refs(args.props.get("spec", {})):
        if not ref.get("namespace"):
            report(f"serviceAccountRef {ref.get('name')!r} has no namespace", None)


_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _bounded(condition: Any) -> bool:
    """True when a ``spec.conditions`` entry names namespaces, not "any namespace"."""
    if not isinstance(condition, dict):
        return False
    names = condition.get("namespaces") or []
    selector = condition.get("namespaceSelector") or {}
    regexes = condition.get("namespaceRegexes") or []
    by_name = bool(names) and all(isinstance(n, str) and _NAMESPACE.match(n) for n in names)
    by_label = isinstance(selector, dict) and bool(selector.get("matchLabels") or selector.get("matchExpressions"))
    by_regex = bool(regexes) and all(
        isinstance(r, str) and r.startswith("^") and r.endswith("$") and ".*" not in r and ".+" not in r for r in regexes
    )
    return by_name or by_label or by_regex


@_rule(
    "eso-store-namespace-bound",
    "ClusterSecretStores are limited to named namespaces (spec.conditions): an unbounded store serves every namespace.",
    "kubernetes:external-secrets.io/v1:ClusterSecretStore",
)
def eso_store_namespace_bound(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = args.props.get("spec")
    if not isinstance(spec, dict):
        return
    conditions = spec.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        report("no spec.conditions: every namespace of the cluster may read through this store", None)
        return
    for condition in conditions:
        if not _bounded(condition):
            report(f"condition {condition!r} does not name namespaces (namespaces, a label selector, or anchored regexes without .*)", None)


@_rule(
    "eso-refresh-interval-bounded",
    f"ExternalSecret refreshInterval is within {REFRESH_BOUNDS}.",
    "kubernetes:external-secrets.io/v1:ExternalSecret",
)
def eso_refresh_interval_bounded(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = args.props.get("spec")
    if not isinstance(spec, dict):
        return
    interval = spec.get("refreshInterval", "1h")
    if not refresh_interval_allowed(interval):
        report(f"refreshInterval {interval!r} is outside {REFRESH_BOUNDS}", None)


RULES: list[ResourceValidationPolicy] = [
    iam_least_privilege,
    kms_key_policy_explicit,
    irsa_trust_exact,
    secretsmanager_secret_hardened,
    no_secret_values,
    gcp_no_project_secret_accessor,
    gcp_secret_deletion_protection,
    vault_policy_read_only,
    vault_k8s_role_bound,
    eso_chart_pinned,
    eso_store_sa_namespace,
    eso_store_namespace_bound,
    eso_refresh_interval_bounded,
]

"""A strict evaluator of IAM policy documents, for the access-matrix tests.

Strict where moto's evaluator is lenient: a condition whose key is absent from
the request fails (IAM's rule), unless the operator ends in ``IfExists`` or is
a negated one (``StringNotEquals``, ``ArnNotLike``, ...), which hold when the
key is absent. An explicit Deny anywhere wins; otherwise some Allow must match.

Covered: Action/NotAction and Resource/NotResource with ``*``/``?`` wildcards
(actions case-insensitive), Principal/NotPrincipal (``*``, AWS ARNs and account
roots, Service, Federated), and the String, Arn and Bool condition operators,
each with ``IfExists``. Anything else raises, so a document using it cannot
pass unnoticed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

ALLOW, DENY, IMPLICIT_DENY = "Allow", "Deny", "ImplicitDeny"


@dataclass(frozen=True)
class Request:
    action: str
    resource: str = "*"
    principal: dict[str, str] = field(default_factory=dict)
    """``{"AWS": arn}``, ``{"Service": name}`` or ``{"Federated": arn}``; empty for identity policies."""
    context: dict[str, str | list[str]] = field(default_factory=dict)


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[2] == "iam" else None


def _principal_matches(spec: Any, principal: dict[str, str], roots: bool) -> bool:
    if spec == "*":
        return True
    for kind, values in spec.items():
        if kind not in principal:
            continue
        for value in _list(values):
            if value == "*" or value == principal[kind]:
                return True
            # An account root stands for every principal of that account (with ``roots``).
            if roots and kind == "AWS" and value.endswith(":root") and _account_of(value) == _account_of(principal[kind]):
                return True
    return False


_STRING = {
    "StringEquals": lambda p, v: p == v,
    "StringNotEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: _glob(p, v, case=True),
    "StringNotLike": lambda p, v: _glob(p, v, case=True),
    "ArnEquals": lambda p, v: p == v,
    "ArnNotEquals": lambda p, v: p == v,
    "ArnLike": lambda p, v: _glob(p, v, case=True),
    "ArnNotLike": lambda p, v: _glob(p, v, case=True),
    "Bool": lambda p, v: str(p).lower() == str(v).lower(),
}
_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _condition_holds(operator: str, block: dict, context: dict) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if base not in _STRING:
        raise NotImplementedError(f"condition operator {operator}")
    test = _STRING[base]
    for key, wanted in block.items():
        present = key in context
        if not present:
            if if_exists or base in _NEGATED:
                continue
            return False
        values = _list(context[key])
        matched = any(test(str(w), str(v)) for w in _list(wanted) for v in values)
        if matched == (base in _NEGATED):
            return False
    return True


def _applies(st: dict, request: Request, roots: bool) -> bool:
    if "Action" in st:
        if not any(_glob(a, request.action, case=False) for a in _list(st["Action"])):
            return False
    elif any(_glob(a, request.action, case=False) for a in _list(st["NotAction"])):
        return False
    if "Resource" in st:
        if not any(_glob(r, request.resource, case=True) for r in _list(st["Resource"])):
            return False
    elif "NotResource" in st and any(_glob(r, request.resource, case=True) for r in _list(st["NotResource"])):
        return False
    if "Principal" in st and not _principal_matches(st["Principal"], request.principal, roots):
        return False
    if "NotPrincipal" in st and _principal_matches(st["NotPrincipal"], request.principal, roots):
        return False
    return all(_condition_holds(op, block, request.context) for op, block in (st.get("Condition") or {}).items())


def evaluate(document: dict | str, request: Request, *, roots: bool = True) -> str:
    """``Allow``, ``Deny`` (an explicit Deny matched) or ``ImplicitDeny`` for one document.

    ``roots=False`` leaves out grants to an account root (KMS: those delegate
    to IAM, they do not grant by themselves); a Deny to a root still counts.
    """
    doc = json.loads(document) if isinstance(document, str) else document
    allowed = False
    for st in _list(doc.get("Statement", [])):
        if not _applies(st, request, roots or st["Effect"] == "Deny"):
            continue
        if st["Effect"] == "Deny":
            return DENY
        allowed = True
    return ALLOW if allowed else IMPLICIT_DENY


def combine(*results: str) -> str:
    """Policies of one request together: a Deny anywhere wins, else any Allow."""
    if DENY in results:
        return DENY
    return ALLOW if ALLOW in results else IMPLICIT_DENY


def kms(key_policy: dict | str, identity_policy: dict | str | None, request: Request) -> str:
    """KMS authorization: the key policy grants the principal itself, or grants its account
    root and an identity policy allows too; a Deny in either wins."""
    identity = evaluate(identity_policy, request) if identity_policy else IMPLICIT_DENY
    if DENY in (evaluate(key_policy, request), identity):
        return DENY
    if evaluate(key_policy, request, roots=False) == ALLOW:
        return ALLOW
    return ALLOW if evaluate(key_policy, request) == ALLOW and identity == ALLOW else IMPLICIT_DENY


def same_account(identity_policy: dict | str | None, resource_policy: dict | str | None, request: Request) -> str:
    """A same-account request to a resource with a resource policy: either may allow, any Deny wins."""
    results = [evaluate(d, request) for d in (identity_policy, resource_policy) if d]
    return combine(*results)

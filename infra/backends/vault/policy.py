"""Vault: the CrossGuard rules and value-writing types of this backend (loaded by ``policy/rules.py``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulumi_policy import ReportViolation, ResourceValidationArgs

VALUE_TYPES = ("vault:kv/secretV2:SecretV2", "vault:generic/secret:Secret")


def build(kit: Any) -> list:
    _rule, _document, _statements, _stack, _as_list = kit.rule, kit.document, kit.statements, kit.stack_of, kit.as_list

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

    return [vault_policy_read_only, vault_k8s_role_bound]

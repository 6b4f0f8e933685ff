"""Guardrail rules for aragora-secrets, importable without building the PolicyPack.

Each rule is a ``ResourceValidationPolicy``; ``__main__.py`` only puts them in
a pack (constructing ``PolicyPack`` starts the gRPC server and blocks, so tests
call ``RULE.validate(args, report)`` directly). The pack runs in its own
virtualenv, so this module depends on pulumi-policy, the standard library and
``infra.durations`` (itself standard library only) and nothing else. Each
backend's own rules live beside it, in ``infra/backends/<name>/policy.py``,
loaded from their files.

Values unknown at preview (e.g. a policy document that embeds a key ARN not
created yet) arrive as non-strings and are skipped: ``pulumi up`` validates
them again once known.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

# Standard library only, shared with the stack config so both enforce one bound.
from infra.durations import REFRESH_BOUNDS, refresh_interval_allowed

MANDATORY = EnforcementLevel.MANDATORY
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


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


def _backend_rules() -> tuple[list[ResourceValidationPolicy], tuple[str, ...]]:
    """Every backend's rules and value-writing types, from ``infra/backends/<name>/policy.py``.

    Loaded by path, not imported: importing ``infra.backends`` would need the
    project's own dependencies, which this virtualenv does not have (it has
    pulumi-policy and the standard library). Each file defines ``build(kit)``,
    which receives the helpers below and returns its rules, and
    ``VALUE_TYPES``, the types that would put a secret value into the stack
    (refused by ``no-secret-values``).
    """
    kit = SimpleNamespace(rule=_rule, document=_document, statements=_statements, stack_of=_stack, as_list=_as_list)
    found: list[ResourceValidationPolicy] = []
    value_types: list[str] = []
    for path in sorted((Path(__file__).resolve().parent.parent / "infra" / "backends").glob("*/policy.py")):
        spec = importlib.util.spec_from_file_location(f"aragora_backend_policy_{path.parent.name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found += module.build(kit)
        value_types += module.VALUE_TYPES
    return found, tuple(value_types)


def _eso_api() -> SimpleNamespace:
    """ESO's type tokens from ``components/eso_api.py`` (standard library only), loaded by path as the
    backends' rules are: the components that declare ESO objects and these rules name one API."""
    path = Path(__file__).resolve().parent.parent / "components" / "eso_api.py"
    spec = importlib.util.spec_from_file_location("aragora_eso_api", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return SimpleNamespace(store=module.CLUSTER_SECRET_STORE_TYPE, external_secret=module.EXTERNAL_SECRET_TYPE)


ESO = _eso_api()
BACKEND_RULES, VALUE_TYPES = _backend_rules()
# Each rule is reachable by its name, as the ESO rules below are.
globals().update({r.name.replace("-", "_"): r for r in BACKEND_RULES})


@_rule(
    "no-secret-values",
    "No resource carries a secret value: values are written by operators, never by the stack.",
    *VALUE_TYPES,
)
def no_secret_values(args: ResourceValidationArgs, report: ReportViolation) -> None:
    report(f"{args.resource_type} puts a secret value into the stack (and its state)", None)


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
    ESO.store,
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
    ESO.store,
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
    ESO.external_secret,
)
def eso_refresh_interval_bounded(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = args.props.get("spec")
    if not isinstance(spec, dict):
        return
    interval = spec.get("refreshInterval", "1h")
    if not refresh_interval_allowed(interval):
        report(f"refreshInterval {interval!r} is outside {REFRESH_BOUNDS}", None)


RULES: list[ResourceValidationPolicy] = [
    *BACKEND_RULES,
    no_secret_values,
    eso_chart_pinned,
    eso_store_sa_namespace,
    eso_store_namespace_bound,
    eso_refresh_interval_bounded,
]

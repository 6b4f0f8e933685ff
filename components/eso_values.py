"""Which of the external-secrets chart's values a user may set on top of this project's, and how.

Not a resource: the allowlist ``ExternalSecretsOperator`` merges user values
through. A platform needs scheduling (node selector, tolerations, affinity,
spread, priority class), resources, an image registry mirror, pull secrets,
pod labels and annotations, security contexts (only ever tightened) and, for
Fargate or host-network webhooks, the webhook's port and host networking; each
for the controller, the webhook and the cert controller. Every path exists,
with this type, in the pinned chart's ``values.schema.json`` (tests). Values
that would undo a hardening this project sets (reconcilers, the service account
and its token, NetworkPolicies, CRD handling, RBAC, the image tag) are refused
with the reason, as is anything not on the list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

DEPLOYMENTS = ("", "webhook.", "certController.")
"""The controller (top level), the webhook and the cert controller: each takes the same per-pod values."""

_PER_POD = {
    "nodeSelector": "string-map",
    "tolerations": "object-list",
    "affinity": "object",
    "topologySpreadConstraints": "object-list",
    "priorityClassName": "name",
    "resources": "resources",
    "podLabels": "string-map",
    "podAnnotations": "string-map",
    "securityContext": "security-context",
    "podSecurityContext": "pod-security-context",
    "image.repository": "image-repository",
    "imagePullSecrets": "name-list",
}
ALLOWED: dict[str, str] = {f"{where}{path}": kind for where in DEPLOYMENTS for path, kind in _PER_POD.items()} | {
    "webhook.port": "port",
    "webhook.hostNetwork": "boolean",
}
"""Value path -> the kind of value it takes."""
ALLOWED_TEXT = f"[webhook.|certController.]{{{', '.join(_PER_POD)}}}, webhook.port, webhook.hostNetwork"

HARDENED: dict[str, str] = {
    **{
        p: "switches a reconciler this project turns off (attack surface and RBAC it does not need)"
        for p in (
            "processClusterStore",
            "processSecretStore",
            "processClusterExternalSecret",
            "processPushSecret",
            "processClusterPushSecret",
            "processClusterGenerator",
        )
    },
    **{f"{w}serviceAccount": "the service account, its token and its identity annotation are this stack's" for w in DEPLOYMENTS},
    **{f"{w}networkPolicy": "would drop or widen the NetworkPolicy this project sets" for w in DEPLOYMENTS},
    **{f"{w}rbac": "RBAC (e.g. serviceAccountTokenCreate) is this project's" for w in ("", "certController.")},
    **{f"{w}image.tag": "the version comes from esoChartVersion, never from a tag" for w in DEPLOYMENTS},
    "crds": "CRD handling (the keep policy, served versions) is this project's",
    "installCRDs": "CRD handling (the keep policy, served versions) is this project's",
    "hostNetwork": "the controller stays off the host network",
    "certController.hostNetwork": "the cert controller stays off the host network",
    "systemAuthDelegator": "RBAC is this project's",
    "scopedRBAC": "RBAC is this project's",
    "scopedNamespace": "the store is cluster-scoped and bounded by its conditions",
}
"""Value path -> why it is refused."""

_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_REPOSITORY = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._/-][a-z0-9]+)*)+")
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?")


def _string_map(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(k, str) and _LABEL_KEY.fullmatch(k) and isinstance(v, str) for k, v in value.items()):
        return "a map of label-style keys to strings"
    return None


def _resources(value: Any) -> str | None:
    ok = isinstance(value, dict) and set(value) <= {"requests", "limits"}
    ok = ok and all(
        isinstance(q, dict)
        and set(q) <= {"cpu", "memory", "ephemeral-storage"}
        and all(isinstance(v, str | int) and not isinstance(v, bool) and _QUANTITY.fullmatch(str(v)) for v in q.values())
        for q in value.values()
    )
    return None if ok else "requests/limits of cpu, memory, ephemeral-storage as quantities, e.g. {requests: {cpu: 100m}}"


def _security_context(value: Any, *, pod: bool) -> str | None:
    if not isinstance(value, dict):
        return "a map"
    weakened = {
        "enabled": value.get("enabled", True) is not True,
        "runAsNonRoot": value.get("runAsNonRoot", True) is not True,
        "runAsUser": value.get("runAsUser") == 0,
        "runAsGroup": value.get("runAsGroup") == 0,
    }
    if not pod:
        weakened |= {
            "allowPrivilegeEscalation": value.get("allowPrivilegeEscalation", False) is not False,
            "privileged": value.get("privileged", False) is not False,
            "readOnlyRootFilesystem": value.get("readOnlyRootFilesystem", True) is not True,
            "capabilities.add": bool((value.get("capabilities") or {}).get("add")),
            "seccompProfile.type": (value.get("seccompProfile") or {}).get("type", "RuntimeDefault") == "Unconfined",
        }
    else:
        weakened["seccompProfile.type"] = (value.get("seccompProfile") or {}).get("type", "RuntimeDefault") == "Unconfined"
    bad = sorted(k for k, is_bad in weakened.items() if is_bad)
    return f"would weaken the chart's hardened context: {', '.join(bad)} (allowed: settings that only tighten it)" if bad else None


_CHECKS = {
    "string-map": _string_map,
    "object": lambda v: None if isinstance(v, dict) else "a map",
    "object-list": lambda v: None if isinstance(v, list) and all(isinstance(i, dict) for i in v) else "a list of maps",
    "name": lambda v: None if isinstance(v, str) and _NAME.fullmatch(v) else "a Kubernetes object name",
    "resources": _resources,
    "security-context": lambda v: _security_context(v, pod=False),
    "pod-security-context": lambda v: _security_context(v, pod=True),
    "image-repository": lambda v: None
    if isinstance(v, str) and _REPOSITORY.fullmatch(v)
    else "an image repository without a tag, e.g. registry.example.com/mirror/external-secrets",
    "name-list": lambda v: None
    if isinstance(v, list) and all(isinstance(i, dict) and set(i) == {"name"} and isinstance(i["name"], str) and _NAME.fullmatch(i["name"]) for i in v)
    else "a list of {name: <secret>}",
    "port": lambda v: None if isinstance(v, int) and not isinstance(v, bool) and 1024 <= v <= 65535 else "a port from 1024 to 65535 (the webhook runs as non-root)",
    "boolean": lambda v: None if isinstance(v, bool) else "true or false",
}


def problems(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """``[(path, why)]`` for every value that may not be set as given; empty: all may."""
    found: list[tuple[str, str]] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if not isinstance(key, str) or not key:
            found.append((path, "is not a value name"))
        elif path in HARDENED:
            found.append((path, f"refused: {HARDENED[path]}"))
        elif path in ALLOWED:
            why = _CHECKS[ALLOWED[path]](value)
            if why:
                found.append((path, why if why.startswith("would ") else f"is not allowed (allowed: {why})"))
        elif isinstance(value, dict) and any(p.startswith(f"{path}.") for p in (*ALLOWED, *HARDENED)):
            found += problems(value, f"{path}.")
        else:
            found.append((path, f"is not a value this project lets you set (allowed: {ALLOWED_TEXT})"))
    return found


def merge(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    """``theirs`` over ``ours``, maps merged key by key (as Helm merges values), anything else replaced."""
    merged = dict(ours)
    for key, value in theirs.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged

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

What is judged is what Helm would run, not what was typed: ``effective()``
coalesces the values over the pinned chart's defaults by Helm's rules (a null
deletes the default, maps merge key by key, lists and scalars replace), and
``judge()`` checks the result: each pod's and container's security context
(non-root, read-only root filesystem, no privilege escalation, ALL
capabilities dropped and none added, RuntimeDefault seccomp, no AppArmor,
SELinux, procMount or sysctl escape, no group 0), no host network, distinct
ports, and every value's type against the chart's ``values.schema.json``.
The chart's defaults and schema at ``helm-chart-2.9.0`` are vendored in
``eso_chart/chart-2.9.0.json`` (source paths and commit inside), so nothing
is fetched at run time. Sources read (tags as named):
- Helm v3.21.4 ``pkg/chartutil/coalesce.go:226-229`` (a null user value
  deletes the chart's key), ``:278-308`` (maps merge, anything else replaces;
  a nested null deletes too), ``pkg/chartutil/values.go:167`` (the coalesced
  values are validated against ``values.schema.json``).
- external-secrets helm-chart-2.9.0 ``templates/deployment.yaml:55-69`` and
  ``webhook-deployment.yaml:55-66`` (a context is rendered only when
  ``enabled`` and not empty), ``templates/_helpers.tpl:229-243`` (``enabled``
  is dropped, every other field passes through), ``deployment.yaml:143-172``
  and ``webhook-deployment.yaml:73-110`` (the ports each server listens on),
  ``deployment.yaml:61`` and ``webhook-deployment.yaml:47`` (``hostNetwork``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
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

# Every pattern here runs on a value whose length was bounded first, and none nests a quantifier
# over text another quantifier can also take: no input backtracks (tests/test_hostile_input.py).
_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
_LABEL_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?")
_REGISTRY = re.compile(r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?(?::[0-9]{1,5})?")
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_QUANTITY = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18})?(?:m|Ki|Mi|Gi|Ti|k|M|G|T)?")
_MAX_REPOSITORY = 255  # the distribution spec's limit on a repository name


def _label_key(key: Any) -> bool:
    """A Kubernetes label or annotation key: ``[<DNS subdomain>/]<name>``, checked part by part."""
    if not isinstance(key, str) or len(key) > 253 + 1 + 63:
        return False
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not all(_DNS_LABEL.fullmatch(p) for p in prefix.split("."))):
        return False
    return bool(_LABEL_NAME.fullmatch(name))


def _repository(value: Any) -> bool:
    """``<registry>[:<port>]/<path>`` without a tag or digest, as the distribution spec names a repository."""
    if not isinstance(value, str) or len(value) > _MAX_REPOSITORY:
        return False
    registry, *path = value.split("/")
    return bool(path) and bool(_REGISTRY.fullmatch(registry)) and all(_PATH_COMPONENT.fullmatch(c) for c in path)


def _string_map(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(_label_key(k) and isinstance(v, str) for k, v in value.items()):
        return "a map of label-style keys to strings"
    return None


def _resources(value: Any) -> str | None:
    ok = isinstance(value, dict) and set(value) <= {"requests", "limits"}
    ok = ok and all(
        isinstance(q, dict)
        and set(q) <= {"cpu", "memory", "ephemeral-storage"}
        and all(isinstance(v, str | int | float) and not isinstance(v, bool) and len(str(v)) <= 40 and _QUANTITY.fullmatch(str(v)) for v in q.values())
        for q in value.values()
    )
    return None if ok else "requests/limits of cpu, memory, ephemeral-storage as quantities, e.g. {requests: {cpu: 100m}}"


_CONTAINER_FIELDS = frozenset({
    "enabled", "allowPrivilegeEscalation", "appArmorProfile", "capabilities", "privileged", "procMount",
    "readOnlyRootFilesystem", "runAsGroup", "runAsNonRoot", "runAsUser", "seLinuxOptions", "seccompProfile", "windowsOptions",
})
_POD_FIELDS = frozenset({
    "enabled", "appArmorProfile", "fsGroup", "fsGroupChangePolicy", "runAsGroup", "runAsNonRoot", "runAsUser",
    "seLinuxChangePolicy", "seLinuxOptions", "seccompProfile", "supplementalGroups", "supplementalGroupsPolicy", "sysctls",
    "windowsOptions",
})
"""The fields of a Kubernetes (Pod)SecurityContext (k8s.io/api core/v1, 1.33), and the chart's ``enabled`` switch."""


def _security_context(value: Any, *, pod: bool) -> str | None:
    # Only the shape here: what the fields add up to is judged on the effective values (judge()).
    fields = _POD_FIELDS if pod else _CONTAINER_FIELDS
    if not isinstance(value, dict):
        return "a map"
    unknown = sorted(str(k) for k in value if k not in fields)
    if unknown:
        return f"a map of {'PodSecurityContext' if pod else 'SecurityContext'} fields ({', '.join(sorted(fields))}); not {quote_list(unknown)}"
    return None


def quote_list(items: list[str]) -> str:
    shown = ", ".join(repr(i[:40]) for i in items[:3])
    return shown + (", ..." if len(items) > 3 else "")


_CHECKS = {
    "string-map": _string_map,
    "object": lambda v: None if isinstance(v, dict) else "a map",
    "object-list": lambda v: None if isinstance(v, list) and all(isinstance(i, dict) for i in v) else "a list of maps",
    "name": lambda v: None if isinstance(v, str) and len(v) <= 253 and _NAME.fullmatch(v) else "a Kubernetes object name",
    "resources": _resources,
    "security-context": lambda v: _security_context(v, pod=False),
    "pod-security-context": lambda v: _security_context(v, pod=True),
    "image-repository": lambda v: None
    if _repository(v)
    else "an image repository without a tag, e.g. registry.example.com/mirror/external-secrets",
    "name-list": lambda v: None
    if isinstance(v, list) and all(isinstance(i, dict) and set(i) == {"name"} and isinstance(i["name"], str) and len(i["name"]) <= 253 and _NAME.fullmatch(i["name"]) for i in v)
    and len({i["name"] for i in v}) == len(v)
    else "a list of {name: <secret>}, each name once",
    "port": lambda v: None if isinstance(v, int) and not isinstance(v, bool) and 1024 <= v <= 65535 else "a port from 1024 to 65535 (the webhook runs as non-root)",
    "boolean": lambda v: None if isinstance(v, bool) else "true or false",
}


def problems(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """``[(path, why)]`` for every value that may not be set as given, then for what the values add up to
    over the chart's defaults (``judge(effective(values))``); empty: all may."""
    found = _allowed(values, prefix)
    return found or judge(effective(values))


def _allowed(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if not isinstance(key, str) or not key:
            found.append((path, "is not a value name"))
        elif path in HARDENED:
            found.append((path, f"refused: {HARDENED[path]}"))
        elif path in ALLOWED:
            # null deletes the chart's default (Helm): whether that is acceptable is judged on the result.
            why = None if value is None else _CHECKS[ALLOWED[path]](value)
            if why:
                found.append((path, why if why.startswith("would ") else f"is not allowed (allowed: {why})"))
        elif isinstance(value, dict) and any(p.startswith(f"{path}.") for p in (*ALLOWED, *HARDENED)):
            found += _allowed(value, f"{path}.")
        else:
            found.append((path, f"is not a value this project lets you set (allowed: {ALLOWED_TEXT})"))
    return found


# --- the values Helm would render, and what they add up to ----------------------------------

CHART_FILE = Path(__file__).parent / "eso_chart" / "chart-2.9.0.json"


@functools.cache
def _chart() -> dict[str, Any]:
    return json.loads(CHART_FILE.read_text())


def chart_defaults() -> dict[str, Any]:
    """The pinned chart's ``values.yaml`` (a fresh copy)."""
    return _copy(_chart()["defaults"])


def coalesce(defaults: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` over ``defaults`` as Helm coalesces them: a null deletes the default, maps merge key by
    key, anything else replaces (lists too); a null with no default stays, as in Helm."""
    result = _copy(defaults)
    for key, value in values.items():
        if value is None and key in result:
            del result[key]
        elif isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = coalesce(result[key], value)
        else:
            result[key] = _copy(value)
    return result


def _copy(value: Any) -> Any:
    """Maps and lists copied, leaves shared (a leaf may be a pulumi Output, which cannot be deep-copied)."""
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def effective(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values the chart renders with: ``values`` coalesced over the pinned chart's defaults."""
    return coalesce(_chart()["defaults"], values)


def _get(values: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(values, Mapping):
            return None
        values = values.get(part)
    return values


_SELINUX_TYPES = frozenset({"container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
"""The SELinux types Pod Security ``baseline`` allows (k8s.io/pod-security-admission, policy check_seLinuxOptions)."""
_ANNOTATION_ESCAPES = ("container.apparmor.security.beta.kubernetes.io/", "seccomp.security.alpha.kubernetes.io/", "container.seccomp.security.alpha.kubernetes.io/")
HARDENED_TEXT = (
    "allowed: only what keeps the chart's hardening: runAsNonRoot true and no user or group 0, readOnlyRootFilesystem true, "
    "allowPrivilegeEscalation false, privileged false, capabilities drop [ALL] and none added, seccompProfile RuntimeDefault, "
    "no AppArmor Unconfined, SELinux, procMount or sysctl escape, hostNetwork false"
)


def _pod_problems(values: Mapping[str, Any], where: str) -> list[tuple[str, str]]:
    """What undoes the hardening of one deployment (``where``: "", "webhook." or "certController.")."""
    found: list[tuple[str, str]] = []
    pod = _get(values, f"{where}podSecurityContext")
    ctr = _get(values, f"{where}securityContext")
    for name, context in (("podSecurityContext", pod), ("securityContext", ctr)):
        # The chart renders a context only when it is a map with enabled: true (templates/deployment.yaml:55).
        if not isinstance(context, Mapping) or context.get("enabled") is not True:
            found.append((f"{where}{name}.enabled", f"leaves the pod without its {name} ({HARDENED_TEXT})"))
    if found:
        return found
    assert isinstance(pod, Mapping) and isinstance(ctr, Mapping)

    def either(field: str) -> tuple[str, Any]:
        # The container's field wins over the pod's (k8s.io/api core/v1 SecurityContext docs).
        if ctr.get(field) is not None:
            return f"{where}securityContext.{field}", ctr[field]
        return f"{where}podSecurityContext.{field}" if pod.get(field) is not None else f"{where}securityContext.{field}", pod.get(field)

    def bad(path: str, what: str) -> None:
        found.append((path, f"{what} ({HARDENED_TEXT})"))

    # The container's field wins over the pod's, but a weaker pod field is refused too: it would hold
    # for any container that does not repeat the field (and as soon as the container's is removed).
    path, value = either("runAsNonRoot")
    if value is not True:
        bad(path, "would let the pod run as root")
    elif pod.get("runAsNonRoot") not in (None, True):
        bad(f"{where}podSecurityContext.runAsNonRoot", "would let the pod run as root")
    for field in ("runAsUser", "runAsGroup"):
        # Refused at either level: a container value only hides the pod's until it is removed.
        for name, context in (("securityContext", ctr), ("podSecurityContext", pod)):
            value = context.get(field)
            if value == 0 and not isinstance(value, bool):
                bad(f"{where}{name}.{field}", "is 0, root")
    if pod.get("fsGroup") == 0 and not isinstance(pod.get("fsGroup"), bool):
        bad(f"{where}podSecurityContext.fsGroup", "is 0, root's group")
    groups = pod.get("supplementalGroups")
    if groups is not None and (not isinstance(groups, list) or any(g == 0 and not isinstance(g, bool) for g in groups)):
        bad(f"{where}podSecurityContext.supplementalGroups", "adds group 0, root's group")
    if pod.get("sysctls"):
        bad(f"{where}podSecurityContext.sysctls", "sets kernel parameters")
    if ctr.get("allowPrivilegeEscalation") is not False:
        bad(f"{where}securityContext.allowPrivilegeEscalation", "would allow privilege escalation")
    if ctr.get("privileged") not in (None, False):
        bad(f"{where}securityContext.privileged", "would make the container privileged")
    if ctr.get("readOnlyRootFilesystem") is not True:
        bad(f"{where}securityContext.readOnlyRootFilesystem", "would make the root filesystem writable")
    capabilities = ctr.get("capabilities")
    drop = capabilities.get("drop") if isinstance(capabilities, Mapping) else None
    add = capabilities.get("add") if isinstance(capabilities, Mapping) else None
    if not isinstance(drop, list) or "ALL" not in drop:
        bad(f"{where}securityContext.capabilities.drop", "would keep capabilities (drop must hold ALL)")
    if add:
        bad(f"{where}securityContext.capabilities.add", "adds capabilities")
    if ctr.get("procMount") not in (None, "Default"):
        bad(f"{where}securityContext.procMount", "unmasks /proc")
    path, seccomp = either("seccompProfile")
    pod_seccomp = pod.get("seccompProfile")
    runtime_default = {"type": "RuntimeDefault"}
    if not isinstance(seccomp, Mapping) or dict(seccomp) != runtime_default:
        bad(path, "is not seccompProfile {type: RuntimeDefault}")
    elif pod_seccomp is not None and pod_seccomp != runtime_default:
        bad(f"{where}podSecurityContext.seccompProfile", "is not seccompProfile {type: RuntimeDefault}")
    for name, context in (("securityContext", ctr), ("podSecurityContext", pod)):
        apparmor = context.get("appArmorProfile")
        if apparmor is not None and (not isinstance(apparmor, Mapping) or apparmor.get("type") not in ("RuntimeDefault", "Localhost")):
            bad(f"{where}{name}.appArmorProfile", "would run the container unconfined by AppArmor")
    for name, context in (("podSecurityContext", pod), ("securityContext", ctr)):
        selinux = context.get("seLinuxOptions")
        if selinux is None:
            continue
        if not isinstance(selinux, Mapping) or selinux.get("user") or selinux.get("role") or selinux.get("type") not in (None, "", *_SELINUX_TYPES):
            bad(f"{where}{name}.seLinuxOptions", "sets an SELinux user, role or type outside the container types")
    for name, context in (("podSecurityContext", pod), ("securityContext", ctr)):
        windows = context.get("windowsOptions")
        if windows is not None and (not isinstance(windows, Mapping) or windows.get("hostProcess") not in (None, False)):
            bad(f"{where}{name}.windowsOptions", "would run as a host process")
    # The ESO namespace enforces Pod Security restricted (components/eso.py), which refuses host namespaces.
    if _get(values, f"{where}hostNetwork") not in (None, False):
        bad(f"{where}hostNetwork", "puts the pod on the host network (the external-secrets namespace enforces Pod Security restricted)")
    for key in _get(values, f"{where}podAnnotations") or {}:
        if isinstance(key, str) and key.startswith(_ANNOTATION_ESCAPES):
            bad(f"{where}podAnnotations.{key}", "sets a security profile by annotation (the profile fields are judged; annotations are not)")
    return found


_PORTS = {
    "": {"metrics": "metrics.listen.port", "health": "livenessProbe.spec.port"},
    "webhook.": {"metrics": "webhook.metrics.listen.port", "health": "webhook.readinessProbe.port", "webhook": "webhook.port"},
    "certController.": {"metrics": "certController.metrics.listen.port", "health": "certController.readinessProbe.port"},
}
"""The ports each pod listens on, by role (templates/deployment.yaml:143-150, webhook-deployment.yaml:73-78)."""


def _port_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for ports in _PORTS.values():
        seen: dict[Any, str] = {}
        for path in ports.values():
            port = _get(values, path)
            if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
                found.append((path, f"is not a port (allowed: 1..65535; the chart's default is {_get(_chart()['defaults'], path)!r})"))
            elif port in seen:
                found.append((path, f"is {port}, the port of {seen[port]} too (allowed: a port no other server of the pod listens on)"))
            else:
                seen[port] = path
    return found


_JSON_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _schema_problems(value: Any, schema: Mapping[str, Any], path: str) -> list[tuple[str, str]]:
    """Where ``value`` breaks the chart's ``values.schema.json`` (its keywords: type, properties, items, enum)."""
    types = schema.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else list(types)
        if not any(_JSON_TYPES.get(t, lambda _v: False)(value) for t in allowed):
            return [(path or "esoValues", f"is {_json_type(value)} (allowed: {' or '.join(allowed)}, as the chart's values.schema.json types it)")]
    if "enum" in schema and value not in schema["enum"]:
        return [(path, f"is not allowed (allowed: {', '.join(map(str, schema['enum']))}, the chart's values.schema.json)")]
    found: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                found += _schema_problems(value[key], sub, f"{path}.{key}" if path else key)
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            found += _schema_problems(item, schema["items"], f"{path}[{i}]")
    return found


def _json_type(value: Any) -> str:
    return next((f"a{'n' if t in ('integer', 'object', 'array') else ''} {t}" for t, ok in _JSON_TYPES.items() if t != "number" and ok(value)), "a number")


def judge(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``[(path, why)]`` of effective chart values (``effective()``) that break the chart's schema, the
    hardening of any of the three pods, or give two servers of a pod one port; empty: none."""
    found = _schema_problems(values, _chart()["schema"], "")
    for where in DEPLOYMENTS:
        found += _pod_problems(values, where)
    for where in DEPLOYMENTS:
        # A deleted repository renders an image reference without a name: nothing would start.
        if not _repository(_get(values, f"{where}image.repository")):
            found.append((f"{where}image.repository", "is missing or not an image repository (allowed: the chart's default or a mirror, e.g. registry.example.com/mirror/external-secrets)"))
    return found + _port_problems(values)


def merge(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    """``theirs`` over ``ours``, maps merged key by key (as Helm merges values), anything else replaced."""
    merged = dict(ours)
    for key, value in theirs.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged

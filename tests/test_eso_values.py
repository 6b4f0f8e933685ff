"""esoValues: the platform's chart values reach the release through an allowlist checked against the
pinned chart's own values schema, and nothing in them can undo a hardening this project sets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from components import eso_values
from components.eso import RECONCILERS, ExternalSecretsOperatorArgs, helm_values
from infra import stackfiles
from infra.fields import ConfigError
from infra.stackfiles import declared_config
from stacktools import recorder
from tests.support import ROOT, STACKS, render

CHART = json.loads((ROOT / "tests" / "fixtures" / "eso-chart-2.9.0-value-types.json").read_text())
KIND_TYPES = {
    "string-map": "object", "object": "object", "resources": "object", "security-context": "object", "pod-security-context": "object",
    "object-list": "array", "name-list": "array", "name": "string", "image-repository": "string", "port": "integer", "boolean": "boolean",
}
PY_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer"}
RELEASE = "kubernetes:helm.sh/v3:Release"


def written(directory: Path, values: dict, stack: str = STACKS[0], **keys) -> recorder.Plan:
    """The plan of ``stack`` with ``esoValues`` written into its stack file as YAML (the CLI's types, not Python's)."""
    config = yaml.safe_load(stackfiles.stack_file(stack).read_text())["config"]
    config |= {f"aragora-secrets:{k}": v for k, v in {"esoValues": values, **keys}.items()}
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return recorder.render(stack, path)


def _nested(path: str, value) -> dict:
    for part in reversed(path.split(".")):
        value = {part: value}
    return value


def _chart_type(path: str) -> str | None:
    """The chart's type for ``path``, or "open" when it lies under a map the chart leaves open (annotations, resources)."""
    if path in CHART["types"]:
        return CHART["types"][path]
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:i])
        if CHART["types"].get(parent) == "object" and not any(p.startswith(f"{parent}.") for p in CHART["types"]):
            return "open"
    return None


def _paths(values: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in values.items():
        out[f"{prefix}{key}"] = value
        if isinstance(value, dict):
            out |= _paths(value, f"{prefix}{key}.")
    return out


def test_the_value_types_fixture_is_of_the_pinned_chart():
    pinned = str(declared_config()["esoChartVersion"]["default"])
    assert CHART["chartVersion"] == pinned
    assert {render(s).setting("esoChartVersion") for s in STACKS} == {pinned}


@pytest.mark.parametrize("path", sorted(eso_values.ALLOWED))
def test_every_allowed_path_is_a_value_of_the_pinned_chart_with_the_type_it_takes(path):
    assert _chart_type(path) == KIND_TYPES[eso_values.ALLOWED[path]], path


@pytest.mark.parametrize("path", sorted(eso_values.HARDENED))
def test_every_refused_path_is_a_value_of_the_pinned_chart(path):
    assert _chart_type(path) is not None, path


@pytest.mark.parametrize("stack", STACKS)
def test_every_value_this_project_sets_exists_in_the_pinned_chart_with_its_type(stack, tmp_path):
    values = written(tmp_path, MAXIMAL, stack).one(RELEASE)["inputs"]["values"]
    for path, value in _paths(values).items():
        chart = _chart_type(path)
        assert chart is not None, f"{path} is not a value of chart {CHART['chartVersion']}"
        allowed = chart if isinstance(chart, list) else [chart]
        assert chart == "open" or PY_TYPES[type(value)] in allowed, (path, chart, value)


MAXIMAL = {
    "nodeSelector": {"pool": "system"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "system", "effect": "NoSchedule"}],
    "affinity": {"nodeAffinity": {}},
    "priorityClassName": "system-cluster-critical",
    "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}},
    "podLabels": {"team": "platform"},
    "image": {"repository": "registry.example.com/mirror/external-secrets"},
    "imagePullSecrets": [{"name": "mirror-pull"}],
    "securityContext": {"runAsUser": 65532, "readOnlyRootFilesystem": True},
    "webhook": {"port": 9443, "hostNetwork": False, "nodeSelector": {"pool": "system"}},
    "certController": {"tolerations": [{"operator": "Exists"}], "podAnnotations": {"a.example.com/x": "y"}},
}


def test_a_node_selector_and_tolerations_reach_the_release_and_the_rest_stays_the_projects(tmp_path):
    base = render(STACKS[0]).one(RELEASE)["inputs"]["values"]
    values = written(tmp_path, MAXIMAL).one(RELEASE)["inputs"]["values"]
    assert values["nodeSelector"] == {"pool": "system"} and values["tolerations"] == MAXIMAL["tolerations"]
    assert values["certController"]["tolerations"] == [{"operator": "Exists"}]
    assert values["resources"]["requests"] == {"cpu": "200m", "memory": "256Mi"}
    assert values["resources"]["limits"] == base["resources"]["limits"]  # merged key by key, as Helm does
    for key in (*RECONCILERS, "serviceAccount", "networkPolicy", "crds", "installCRDs"):
        assert values[key] == base[key], key


def test_a_moved_webhook_port_moves_the_webhooks_network_policy_with_it(tmp_path):
    values = written(tmp_path, {"webhook": {"port": 9443}}).one(RELEASE)["inputs"]["values"]
    ports = {p["port"] for rule in values["webhook"]["networkPolicy"]["ingress"] for p in rule["ports"]}
    assert 9443 in ports and 10250 not in ports


@pytest.mark.parametrize("path", sorted(eso_values.HARDENED))
def test_a_value_that_undoes_a_hardening_is_refused_naming_esovalues_and_the_path(path, tmp_path):
    with pytest.raises(ConfigError) as err:
        written(tmp_path, _nested(path, True))
    assert str(err.value).startswith(f"aragora-secrets:esoValues: '{path}' refused: ") and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("context", "field"),
    [
        ({"runAsNonRoot": False}, "runAsNonRoot"),
        ({"runAsUser": 0}, "runAsUser"),
        ({"allowPrivilegeEscalation": True}, "allowPrivilegeEscalation"),
        ({"privileged": True}, "privileged"),
        ({"readOnlyRootFilesystem": False}, "readOnlyRootFilesystem"),
        ({"capabilities": {"add": ["NET_ADMIN"]}}, "capabilities.add"),
        ({"seccompProfile": {"type": "Unconfined"}}, "seccompProfile.type"),
        ({"enabled": False}, "enabled"),
    ],
)
@pytest.mark.parametrize("where", ["", "webhook.", "certController."])
def test_a_security_context_may_only_be_tightened(context, field, where, tmp_path):
    path = re.escape(f"{where}securityContext.{field.removesuffix('.type')}")
    with pytest.raises(ConfigError, match=rf"^aragora-secrets:esoValues: '{path}' .*\(allowed: only what keeps the chart's hardening"):
        written(tmp_path, _nested(f"{where}securityContext", context))


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"extraArgs": {"loglevel": "debug"}}, "extraArgs"),
        ({"webhook": {"port": 80}}, "webhook.port"),
        ({"webhook": {"port": "9443"}}, "webhook.port"),
        ({"image": {"repository": "registry.example.com/eso:v1"}}, "image.repository"),
        ({"nodeSelector": {"pool": 1}}, "nodeSelector"),
        ({"resources": {"requests": {"gpu": "1"}}}, "resources"),
        ({"podSecurityContext": {"runAsUser": 0}}, "podSecurityContext.runAsUser"),
        ({"webhook": {"bogus": 1}}, "webhook.bogus"),
        ({"image": "registry.example.com/eso"}, "image"),
    ],
)
def test_an_unknown_path_or_a_wrong_type_is_refused_naming_the_path(values, path, tmp_path):
    with pytest.raises(ConfigError, match=rf"^aragora-secrets:esoValues: '{path}' "):
        written(tmp_path, values)


def test_chart_values_are_refused_for_an_eso_the_platform_installed(tmp_path):
    with pytest.raises(ConfigError, match=r"^aragora-secrets:esoValues: .* esoInstall external"):
        written(tmp_path, {"nodeSelector": {"a": "b"}}, esoInstall="external")


SEGMENTS = sorted({part for p in (*eso_values.ALLOWED, *eso_values.HARDENED) for part in p.split(".")} | {"enabled", "extra", "port"})
LEAVES = st.one_of(st.booleans(), st.integers(-1, 70000), st.text(max_size=12), st.just({}), st.just([]), st.just([{"name": "x"}]))
TREES = st.recursive(LEAVES, lambda inner: st.dictionaries(st.sampled_from(SEGMENTS), inner, max_size=3), max_leaves=8)
BASELINE = helm_values(ExternalSecretsOperatorArgs(chart_version="2.9.0"))
GUARDED = (*RECONCILERS, "serviceAccount", "networkPolicy", "crds", "installCRDs", "hostNetwork")


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.dictionaries(st.sampled_from(SEGMENTS), TREES, max_size=4))
def test_no_accepted_values_change_what_the_project_hardens(values):
    if eso_values.problems(values):
        with pytest.raises(ValueError, match=r"^ExternalSecretsOperatorArgs\.values: "):
            ExternalSecretsOperatorArgs(chart_version="2.9.0", values=values)
        return
    merged = helm_values(ExternalSecretsOperatorArgs(chart_version="2.9.0", values=values))
    for key in GUARDED:
        assert merged.get(key) == BASELINE.get(key), key
    for where in ("webhook", "certController"):
        for key in ("networkPolicy", "serviceAccount", "hostNetwork", "rbac"):
            if key == "networkPolicy" and where == "webhook":
                continue  # follows webhook.port, checked above
            assert merged.get(where, {}).get(key) == BASELINE.get(where, {}).get(key), (where, key)
        context = merged.get(where, {}).get("securityContext") or {}
        assert context.get("runAsNonRoot", True) is True and context.get("allowPrivilegeEscalation", False) is False

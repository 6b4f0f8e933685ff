"""Automatic rollouts: Reloader installed (or external), the Secrets it may act on, the app's annotation."""

from __future__ import annotations

import pytest

from components.eso_api import EXTERNAL_SECRET_TYPE
from components.reloader import CHART_VERSION
from tests.support import ANY_STACK, render

ES = EXTERNAL_SECRET_TYPE
MATCH = {"reloader.stakater.com/match": "true"}


def _templates(plan) -> dict[str, dict]:
    return {r["inputs"]["metadata"]["name"]: (r["inputs"]["spec"]["target"].get("template") or {}) for r in plan.of_type(ES)}


def test_off_by_default_no_release_no_annotation():
    plan = render(ANY_STACK)
    assert plan.setting("reloader") == "off"
    assert [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "reloader"] == []
    assert all("reloader.stakater.com/match" not in t.get("metadata", {}).get("annotations", {}) for t in _templates(plan).values())
    assert plan.outputs["appDeploymentAnnotations"] == {}


def test_install_pins_the_chart_into_the_app_namespace_watching_only_it_by_annotations():
    plan = render(ANY_STACK, reloader="install")
    (release,) = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "reloader"]
    inputs = release["inputs"]
    assert inputs["version"] == CHART_VERSION and inputs["repositoryOpts"] == {"repo": "https://stakater.github.io/stakater-charts"}
    assert inputs["namespace"] == "aragora"
    assert inputs["values"]["reloader"]["watchGlobally"] is False
    assert inputs["values"]["reloader"]["reloadStrategy"] == "annotations"
    assert inputs["values"]["reloader"]["ignoreConfigMaps"] is True


@pytest.mark.parametrize("mode", ["install", "external"])
def test_every_synced_secret_carries_the_match_annotation_and_the_app_gets_its_search_annotation(mode):
    plan = render(ANY_STACK, reloader=mode)
    for name, template in _templates(plan).items():
        assert template["metadata"]["annotations"].items() >= MATCH.items(), name
        assert template["mergePolicy"] == "Merge"
    assert plan.outputs["appDeploymentAnnotations"] == {"reloader.stakater.com/search": "true"}
    session = _templates(plan)["aragora-secrets-session"]["metadata"]["annotations"]
    assert session["aragora.io/jwt-rotation"] == plan.setting("jwtRotation")  # the rotation marker stays
    installed = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "reloader"]
    assert bool(installed) is (mode == "install")

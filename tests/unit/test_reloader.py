"""Reloader built alone: one pinned release in the given namespace, watching that namespace's Secrets only."""

from __future__ import annotations

from components.reloader import CHART_VERSION, Reloader, ReloaderArgs
from tests.unit.harness import declare


def test_the_release_is_pinned_in_the_given_namespace_and_watches_only_it():
    plan = declare(lambda: Reloader("rl", ReloaderArgs(namespace="ns-q")))
    release = plan.one("kubernetes:helm.sh/v3:Release")
    assert release["name"] == "rl-release" and release["parent"] == plan.one("aragora:rollout:Reloader")["urn"]
    inputs = release["inputs"]
    assert (inputs["chart"], inputs["version"], inputs["namespace"]) == ("reloader", CHART_VERSION, "ns-q")
    assert inputs["values"]["reloader"]["watchGlobally"] is False
    assert inputs["values"]["reloader"]["reloadStrategy"] == "annotations" and inputs["values"]["reloader"]["ignoreConfigMaps"] is True

"""The price on every plan: provider calls from the refreshes, stored units from the backend, list prices from one file."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from components.eso_api import EXTERNAL_SECRET_TYPE
from infra.backends import REGISTRY
from infra.durations import go_duration_seconds
from stacktools import cost
from stacktools import plan as plan_cmd
from tests.support import PLANS, STACKS, facts_of, render, render_named, run_main

ES = EXTERNAL_SECRET_TYPE


def _external_secret(name: str, keys: list[str], interval: str = "1h", policy: str | None = None, props: int = 1) -> dict:
    spec = {
        "refreshInterval": interval,
        "data": [
            {"secretKey": f"{k}-{p}", "remoteRef": {"key": k, "property": f"p{p}"}} for k in keys for p in range(props)
        ],
    }
    if policy:
        spec["refreshPolicy"] = policy
    return {"type": ES, "urn": name, "name": name, "inputs": {"metadata": {"name": name}, "spec": spec}}


SHEET = {"read": "2026-12-02", "backends": {"x": {"source": ["s"], "units": {"calls": {"price": 1.0, "per": 1000, "per_call": True, "what": ""}}}}}


@pytest.mark.parametrize(("interval", "calls"), [("5m", 4 * 730 * 12), ("1h", 4 * 730), ("24h", 4 * 730 / 24)])
def test_four_grouped_secrets_cost_one_read_each_per_refresh(interval, calls):
    # Known answers: 730 hours a month; 12 refreshes an hour at 5m, 1 at 1h.
    est = cost.estimate([_external_secret("es", ["a", "b", "c", "d"], interval, props=3)], "x", SHEET)
    assert est.calls == pytest.approx(calls)
    assert est.total == pytest.approx(calls / 1000)


def test_properties_of_one_remote_key_are_one_read_and_on_change_ones_make_none():
    resources = [
        _external_secret("grouped", ["only"], "5m", props=4),
        _external_secret("on-change", ["a", "b"], "5m", policy="OnChange"),
        _external_secret("once", ["c"], "5m", policy="CreatedOnce"),
    ]
    by_name = {r.name: r for r in cost.estimate(resources, "x", SHEET).refreshes}
    assert (by_name["grouped"].keys, by_name["grouped"].calls) == (1, pytest.approx(730 * 12))
    assert by_name["on-change"].calls == 0 and by_name["once"].calls == 0


def test_staging_refreshing_more_often_costs_more_than_production_by_the_interval_ratio():
    staging, production = (render(s) for s in ("staging", "production"))
    est = {s: cost.estimate(p.resources, p.outputs["backend"]) for s, p in (("staging", staging), ("production", production))}
    ratio = go_duration_seconds(production.setting("refreshInterval")) / go_duration_seconds(staging.setting("refreshInterval"))
    assert est["staging"].calls == pytest.approx(est["production"].calls * ratio)
    assert est["staging"].total > est["production"].total


@pytest.mark.parametrize("name", list(PLANS))
def test_every_plan_is_fully_priced_from_its_backends_sheet(name):
    plan = render_named(name)
    est = cost.estimate(plan.resources, plan.outputs["backend"])
    assert est.unpriced == [], f"units without a price in infra/prices.json: {est.unpriced}"
    periodic = [r for r in plan.of_type(ES) if r["inputs"]["spec"].get("refreshPolicy", "Periodic") == "Periodic"]
    assert (est.calls > 0) is bool(periodic)
    table = facts_of(name)
    billed = {t: f.billed for t, f in table.items() if f.billed}
    assert {line.unit for line in est.lines} >= {u for r in plan.resources if r["type"] in billed for u in billed[r["type"]](r["inputs"])}


def test_every_backend_has_a_price_sheet_with_its_source_and_the_date_it_was_read():
    sheets = cost.price_sheets()
    assert dt.date.fromisoformat(sheets["read"]) <= dt.date.today()
    for name in REGISTRY:
        sheet = sheets["backends"][name]
        assert sheet["source"] and all(isinstance(s, str) and s for s in sheet["source"])
        assert sheet["units"]["calls"]["per_call"] is True
        assert all(u["price"] >= 0 and u["per"] >= 1 and u["what"] for u in sheet["units"].values())


def test_a_gcp_secret_bills_a_version_per_location_and_its_rotation_notices():
    (billed,) = [f.billed for b in REGISTRY.values() for t, f in b.resources.items() if t == "gcp:secretmanager/secret:Secret"]
    two = {"replication": {"userManaged": {"replicas": [{"location": "a"}, {"location": "b"}]}}}
    assert billed(two) == {"version-location-months": 2}
    assert billed({"replication": {"auto": {}}, "rotation": {"rotationPeriod": f"{730 * 3600}s"}}) == {
        "version-location-months": 1,
        "rotation-notifications": 1,
    }


@pytest.mark.parametrize("stack", STACKS)
def test_make_plan_prints_the_cost_and_writes_cost_json_beside_resources_json(stack, tmp_path):
    result = run_main(plan_cmd.main, ["--stack", stack, "--out", str(tmp_path)])
    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / "cost.json").read_text())
    assert (tmp_path / "resources.json").exists()
    plan = render(stack)
    est = cost.estimate(plan.resources, plan.outputs["backend"])
    assert written["providerCallsPerMonth"] == round(est.calls) and written["monthlyCost"] == round(est.total, 2)
    assert f"total: {est.calls:,.0f} provider calls, ${est.total:,.2f} per month" in result.stdout


def test_a_diff_against_a_base_without_cost_json_says_so(tmp_path):
    stack = STACKS[0]
    base = tmp_path / "base"
    base.mkdir()
    (base / "resources.json").write_text(json.dumps(render(stack).resources))
    result = run_main(plan_cmd.main, ["--stack", stack, "--diff", str(base)])
    assert result.returncode == 0, result.stderr
    assert "(the base plan has no cost.json)" in result.stdout

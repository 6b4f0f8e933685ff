"""What a plan costs per month: the provider calls ESO's refreshes make, and what the backend stores.

A Periodic ExternalSecret reads each of its distinct remote keys once per
refresh (ESO's provider clients read a key once per reconcile however many
properties the ExternalSecret takes from it), so its calls per month are
``keys x HOURS_PER_MONTH x 3600 / refreshInterval``. ``OnChange`` and
``CreatedOnce`` ones make no periodic call (one read when created or changed).
Stored units (secret-months, keys, versions per location) are what the
stack's backend declares as ``billed`` per resource. Prices come from
``infra/prices.json``, one sheet per backend with its source and the date it
was read. List prices only: no free tier, no discount, no tax; Pulumi's own
refreshes and the backend's reads by anyone else are not counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.backends import REGISTRY
from infra.durations import HOURS_PER_MONTH, go_duration_seconds

PRICES = Path(__file__).resolve().parent.parent / "infra" / "prices.json"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"


def price_sheets(path: Path = PRICES) -> dict[str, Any]:
    return json.loads(path.read_text())


@dataclass(frozen=True)
class Refresh:
    """One ExternalSecret's share of the calls."""

    name: str
    policy: str
    interval: str
    keys: int
    calls: float


@dataclass(frozen=True)
class Line:
    unit: str
    quantity: float
    price: float | None
    """Per ``per`` units; None: the backend's sheet does not price this unit."""
    per: int
    what: str

    @property
    def cost(self) -> float:
        return (self.quantity / self.per) * (self.price or 0.0)


@dataclass(frozen=True)
class Estimate:
    backend: str
    refreshes: tuple[Refresh, ...]
    lines: tuple[Line, ...]
    read: str
    source: tuple[str, ...]
    placement: Mapping[str, Any] | None = None
    """Several regions or clusters (``clusters``): what each region bills and each cluster calls."""

    @property
    def calls(self) -> float:
        return sum(r.calls for r in self.refreshes)

    @property
    def total(self) -> float:
        return sum(line.cost for line in self.lines)

    @property
    def unpriced(self) -> list[str]:
        return [line.unit for line in self.lines if line.price is None]

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "currency": "USD",
            "per": "month",
            "hoursPerMonth": HOURS_PER_MONTH,
            "providerCallsPerMonth": round(self.calls),
            "monthlyCost": round(self.total, 2),
            "lines": [
                {"unit": x.unit, "quantity": round(x.quantity, 2), "price": x.price, "per": x.per, "cost": round(x.cost, 2), "what": x.what}
                for x in self.lines
            ],
            "refreshes": [r.__dict__ for r in self.refreshes],
            "unpriced": self.unpriced,
            "pricesRead": self.read,
            "priceSources": list(self.source),
        } | (dict(self.placement) if self.placement else {})


def refreshes(resources: Iterable[Mapping[str, Any]]) -> tuple[Refresh, ...]:
    found = []
    for r in resources:
        if r["type"] != EXTERNAL_SECRET:
            continue
        spec = r["inputs"].get("spec") or {}
        policy = spec.get("refreshPolicy") or "Periodic"
        interval = str(spec.get("refreshInterval") or "1h")  # ESO's default
        keys = {(d.get("remoteRef") or {}).get("key") for d in spec.get("data") or []}
        keys |= {((d.get("extract") or d.get("find") or {}).get("key")) for d in spec.get("dataFrom") or []}
        keys.discard(None)
        seconds = go_duration_seconds(interval) or 0
        periodic = policy == "Periodic" and seconds > 0
        calls = len(keys) * HOURS_PER_MONTH * 3600 / seconds if periodic else 0.0
        found.append(Refresh(r["inputs"]["metadata"]["name"], policy, interval, len(keys), calls))
    return tuple(sorted(found, key=lambda x: x.name))


def estimate(resources: list[dict[str, Any]], backend: str, sheets: Mapping[str, Any] | None = None) -> Estimate:
    sheets = price_sheets() if sheets is None else sheets
    sheet = sheets["backends"].get(backend, {"source": [], "units": {}})
    units: dict[str, float] = {}
    billed = REGISTRY[backend].billed if backend in REGISTRY else {}
    for r in resources:
        for unit, quantity in (billed[r["type"]](r["inputs"]) if r["type"] in billed else {}).items():
            units[unit] = units.get(unit, 0.0) + quantity
    found = refreshes(resources)
    calls = sum(x.calls for x in found)
    for unit, price in sheet["units"].items():
        if price.get("per_call"):
            units[unit] = units.get(unit, 0.0) + calls
    if "calls" not in units:  # an unpriced backend still shows its calls
        units["calls"] = calls
    lines = []
    for unit in sorted(units):
        price = sheet["units"].get(unit)
        lines.append(
            Line(unit, units[unit], price["price"] if price else None, price["per"] if price else 1, price["what"] if price else "")
        )
    return Estimate(backend, found, tuple(lines), sheets["read"], tuple(sheet["source"]), placement(resources, billed, sheet))


def placement(resources: list[dict[str, Any]], billed: Mapping[str, Any], sheet: Mapping[str, Any]) -> dict[str, Any] | None:
    """``byRegion`` (each billed resource in its provider's region, each of its ``replicas`` in that
    replica's region: what the resource bills more per replica) and ``byCluster`` (each cluster's
    provider calls, by kubeContext); None for one region and one cluster, whose cost.json is unchanged."""
    providers = {r["urn"]: r["inputs"] for r in resources if r["type"].startswith("pulumi:providers:")}

    def provider_of(r: Mapping[str, Any]) -> Mapping[str, Any]:
        return providers.get(str(r.get("provider") or "").rsplit("::", 1)[0], {})

    regions: dict[str, dict[str, float]] = {}

    def add(region: str, units: Mapping[str, float]) -> None:
        for unit, quantity in units.items():
            regions.setdefault(region, {})[unit] = regions.get(region, {}).get(unit, 0.0) + quantity

    for r in resources:
        if r["type"] not in billed:
            continue
        total = billed[r["type"]](r["inputs"])
        replicas = [x["region"] for x in r["inputs"].get("replicas") or [] if isinstance(x, Mapping) and x.get("region")]
        alone = billed[r["type"]]({**r["inputs"], "replicas": []}) if replicas else total
        add(str(provider_of(r).get("region") or "global"), alone)
        for region in replicas:
            add(region, {unit: (q - alone.get(unit, 0.0)) / len(replicas) for unit, q in total.items()})
    clusters: dict[str, float] = {}
    for r in resources:
        if r["type"] == EXTERNAL_SECRET:
            context = str(provider_of(r).get("context") or "")
            clusters[context] = clusters.get(context, 0.0) + sum(x.calls for x in refreshes([r]))
    if len(regions) <= 1 and len(clusters) <= 1:
        return None

    def priced(unit: str, quantity: float) -> dict[str, Any]:
        price = sheet["units"].get(unit)
        cost = quantity / price["per"] * price["price"] if price else 0.0
        return {"quantity": round(quantity, 2), "cost": round(cost, 2)}

    return {
        "byRegion": {region: {unit: priced(unit, q) for unit, q in sorted(units.items())} for region, units in sorted(regions.items())},
        "byCluster": {context: {"providerCallsPerMonth": round(calls)} for context, calls in sorted(clusters.items())},
    }


def _money(value: float) -> str:
    return f"${value:,.2f}"


def render_text(est: Estimate) -> str:
    rows = [f"Cost per month (estimate, {est.backend}, list prices read {est.read}; infra/prices.json):"]
    for r in est.refreshes:
        how = f"{r.keys} remote keys every {r.interval}" if r.calls else f"{r.policy}: no periodic reads"
        rows.append(f"    {r.name}: {how} -> {r.calls:,.0f} calls")
    for line in est.lines:
        price = f"{_money(line.cost)}" if line.price is not None else "no price in the sheet"
        rows.append(f"    {line.unit}: {line.quantity:,.2f} -> {price}")
    rows.append(f"    total: {est.calls:,.0f} provider calls, {_money(est.total)} per month")
    return "\n".join(rows)


def render_change(base: Mapping[str, Any] | None, est: Estimate) -> str:
    """One line for the plan diff: the monthly cost and calls before and after."""
    if base is None:
        return f"Cost per month: {_money(est.total)}, {est.calls:,.0f} provider calls (the base plan has no cost.json)"
    before, calls_before = float(base.get("monthlyCost", 0.0)), float(base.get("providerCallsPerMonth", 0))
    after = round(est.total, 2)
    delta = after - before
    sign = "+" if delta >= 0 else "-"
    return (
        f"Cost per month: {_money(before)} -> {_money(after)} ({sign}{_money(abs(delta))}); "
        f"provider calls {calls_before:,.0f} -> {est.calls:,.0f}"
    )

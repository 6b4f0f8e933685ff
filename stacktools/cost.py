"""What a plan costs per month, and why everything else it declares is free.

A Periodic ExternalSecret reads each of its distinct remote keys once per
refresh (ESO's provider clients read a key once per reconcile however many
properties the ExternalSecret takes from it), so its calls per month are
``keys x HOURS_PER_MONTH x 3600 / refreshInterval``. ``OnChange`` and
``CreatedOnce`` ones make no periodic call (one read when created or changed).
Stored and hourly units (secret-months, key-months, endpoint-AZ-hours, rule
evaluations) are what the stack's backend declares as ``billed`` per resource.

Every resource type a stack can declare has a decision: the types every stack
shares (Kubernetes, ESO, Pulumi itself, the components) decide theirs where they
are declared (``Facts.free`` in ``components/``, collected under ``common``);
each backend's price sheet is its own (``infra/backends/<name>/prices.json``,
the ``PRICE_SHEET`` capability), and only the stack's backend's is read. A sheet
holds its ``units`` (``per_call`` when ESO's refreshes make them, else what its
``billed`` facts count per resource and month; each priced, ``price`` per
``per``, or ``free`` with why, with its ``source`` and the date it was
``read``), a decision per type it declares (``units``, or ``free`` and why) and
``not_counted``: what a stack can cause that the estimate leaves out. List
prices in USD, first tier, us-east-1 where a price varies by region. A backend
without a sheet leaves its types undecided. A type with no decision is reported (``undecided``), never
silently counted as free. List prices only: no free tier, no discount, no tax;
``not_counted`` in the sheet names what a stack can cause but the estimate
leaves out.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.facts import CostRole, Facts, shared
from infra import backends
from infra.durations import HOURS_PER_MONTH, go_duration_seconds

_NO_SHEET: dict[str, Any] = {"units": {}, "types": {}, "not_counted": {}}


def _common() -> dict[str, Any]:
    """The shared types' decisions, as their components declare them."""
    return {"types": {t: {"free": f.free} for t, f in shared().items() if f.free}}


def price_sheets() -> dict[str, Any]:
    """The common decisions and every backend's price sheet (``backends``), for reviews and tests: the sheets
    are read as files, no backend package is imported. A plan reads only its own backend's (``estimate``)."""
    found = {}
    for name in backends.names():
        sheet = Path(backends.__path__[0]) / name / backends.PRICE_SHEET.file
        if sheet.is_file():
            found[name] = json.loads(sheet.read_text())
    return {"common": _common(), "backends": found}


def own_sheets(backend: str) -> dict[str, Any]:
    """The common decisions and the price sheet of ``backend`` alone (none when it has no sheet yet)."""
    own = {}
    # A backend without a sheet: its types are reported undecided, never counted free.
    if backend in backends.names() and backends.PRICE_SHEET.available(backends.load(backend)):
        own[backend] = backends.capability(backends.load(backend), backends.PRICE_SHEET)
    return {"common": _common(), "backends": own}


def sheet_of(sheets: Mapping[str, Any], backend: str) -> Mapping[str, Any]:
    """A backend's sheet (units, type decisions, what is not counted); empty when it has none yet."""
    return {**_NO_SHEET, **sheets.get("backends", {}).get(backend, {})}


def decision_of(sheets: Mapping[str, Any], backend: str, type_: str) -> Mapping[str, Any] | None:
    """The price decision for ``type_`` in a stack of ``backend``: ``{"units": [...]}`` or ``{"free": why}``; None: none."""
    common = sheets.get("common", {}).get("types", {})
    return common.get(type_) or sheet_of(sheets, backend)["types"].get(type_)


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
    """Per ``per`` units; None: not priced (``free`` says why, else the sheet lacks the unit)."""
    per: int
    what: str
    free: str | None = None
    """Why this unit is not counted (e.g. a self-hosted backend)."""

    @property
    def cost(self) -> float:
        return (self.quantity / self.per) * (self.price or 0.0)


@dataclass(frozen=True)
class FreeType:
    """Resources of one type the sheet decides are free, and why."""

    type: str
    resources: int
    why: str


@dataclass(frozen=True)
class Estimate:
    backend: str
    refreshes: tuple[Refresh, ...]
    lines: tuple[Line, ...]
    read: tuple[str, ...]
    """The dates the prices used were read (oldest first)."""
    source: tuple[str, ...]
    free: tuple[FreeType, ...] = ()
    undecided: tuple[str, ...] = ()
    """Types the plan declares that have no price decision in the sheet."""
    not_counted: Mapping[str, str] = field(default_factory=dict)
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
        return [line.unit for line in self.lines if line.price is None and line.free is None]

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "currency": "USD",
            "per": "month",
            "hoursPerMonth": HOURS_PER_MONTH,
            "providerCallsPerMonth": round(self.calls),
            "monthlyCost": round(self.total, 2),
            "lines": [
                {
                    "unit": x.unit,
                    "quantity": _json_quantity(x.quantity),
                    "price": x.price,
                    "per": x.per,
                    "cost": round(x.cost, 2),
                    "what": x.what,
                    **({"free": x.free} if x.free else {}),
                }
                for x in self.lines
            ],
            "refreshes": [r.__dict__ for r in self.refreshes],
            "unpriced": self.unpriced,
            "free": [f.__dict__ for f in self.free],
            "undecided": list(self.undecided),
            "notCounted": dict(self.not_counted),
            "pricesRead": self.read[0] if self.read else None,
            "priceSources": list(self.source),
        } | (dict(self.placement) if self.placement else {})


def _json_quantity(quantity: float) -> int | float:
    return int(quantity) if float(quantity).is_integer() else round(quantity, 2)


def _calls_of(table: Mapping[str, Facts]) -> set[str]:
    """The types whose refreshes are provider calls (ESO's ExternalSecret, as its component says)."""
    return {t for t, f in table.items() if f.cost_role is CostRole.PROVIDER_CALLS}


def refreshes(resources: Iterable[Mapping[str, Any]], table: Mapping[str, Facts] | None = None) -> tuple[Refresh, ...]:
    calling = _calls_of(shared() if table is None else table)
    found = []
    for r in resources:
        if r["type"] not in calling:
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
    sheets = own_sheets(backend) if sheets is None else sheets
    sheet = sheet_of(sheets, backend)
    units: dict[str, float] = {}
    # Only the stack's backend is loaded; an unknown name (a test's "x") bills nothing but the calls.
    table = backends.facts(backends.load(backend)) if backend in backends.names() else shared()
    for r in resources:
        bills = table[r["type"]].billed if r["type"] in table else None
        for unit, quantity in (bills(r["inputs"], resources) if bills else {}).items():
            units[unit] = units.get(unit, 0.0) + quantity
    found = refreshes(resources, table)
    calls = sum(x.calls for x in found)
    for unit, price in sheet["units"].items():
        if price.get("per_call"):
            units[unit] = units.get(unit, 0.0) + calls
    if "calls" not in units:  # an unpriced backend still shows its calls
        units["calls"] = calls
    lines = []
    for unit in sorted(units):
        price = sheet["units"].get(unit) or {}
        lines.append(Line(unit, units[unit], price.get("price"), price.get("per", 1), price.get("what", ""), price.get("free")))
    used = [sheet["units"][line.unit] for line in lines if line.unit in sheet["units"]]
    counts = Counter(r["type"] for r in resources)
    free, undecided = [], []
    for type_ in sorted(counts):
        decision = decision_of(sheets, backend, type_)
        if decision is None:
            undecided.append(type_)
        elif "free" in decision:
            free.append(FreeType(type_, counts[type_], decision["free"]))
    return Estimate(
        backend=backend,
        refreshes=found,
        lines=tuple(lines),
        read=tuple(sorted({u["read"] for u in used if u.get("read")})),
        source=tuple(dict.fromkeys(s for u in used for s in u.get("source", []))),
        free=tuple(free),
        undecided=tuple(undecided),
        not_counted=dict(sheet["not_counted"]),
        placement=placement(resources, table, sheet),
    )


def placement(resources: list[dict[str, Any]], table: Mapping[str, Facts], sheet: Mapping[str, Any]) -> dict[str, Any] | None:
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
        bills = table[r["type"]].billed if r["type"] in table else None
        if bills is None:
            continue
        total = bills(r["inputs"], resources)
        replicas = [x["region"] for x in r["inputs"].get("replicas") or [] if isinstance(x, Mapping) and x.get("region")]
        alone = bills({**r["inputs"], "replicas": []}, resources) if replicas else total
        add(str(provider_of(r).get("region") or "global"), alone)
        for region in replicas:
            add(region, {unit: (q - alone.get(unit, 0.0)) / len(replicas) for unit, q in total.items()})
    clusters: dict[str, float] = {}
    calling = _calls_of(table)
    for r in resources:
        if r["type"] in calling:
            context = str(provider_of(r).get("context") or "")
            clusters[context] = clusters.get(context, 0.0) + sum(x.calls for x in refreshes([r], table))
    if len(regions) <= 1 and len(clusters) <= 1:
        return None

    def priced(unit: str, quantity: float) -> dict[str, Any]:
        price = sheet["units"].get(unit) or {}
        cost = quantity / price.get("per", 1) * (price.get("price") or 0.0)
        return {"quantity": round(quantity, 2), "cost": round(cost, 2)}

    return {
        "byRegion": {region: {unit: priced(unit, q) for unit, q in sorted(units.items())} for region, units in sorted(regions.items())},
        "byCluster": {context: {"providerCallsPerMonth": round(calls)} for context, calls in sorted(clusters.items())},
    }




def _quantity(value: float) -> str:
    """A monthly quantity as the terminal shows it: a count as a whole number; an average under
    100 that is not whole (a rule evaluated 30.42 times a month) with two decimals."""
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _money(value: float) -> str:
    return f"${value:,.2f}"


def render_text(est: Estimate) -> str:
    read = " to ".join(dict.fromkeys((est.read[0], est.read[-1]))) if est.read else "never"
    rows = [f"Cost per month (estimate, {est.backend}, list prices read {read}; its prices.json):"]
    for r in est.refreshes:
        how = f"{r.keys} remote keys every {r.interval}" if r.calls else f"{r.policy}: no periodic reads"
        rows.append(f"    {r.name}: {how} -> {r.calls:,.0f} calls")
    for line in est.lines:
        price = _money(line.cost) if line.price is not None else line.free or "no price in the sheet"
        rows.append(f"    {line.unit}: {_quantity(line.quantity)} -> {price}")
    if est.free:
        resources = sum(f.resources for f in est.free)
        rows.append(f"    free: {resources} resources of {len(est.free)} types (each type's reason: cost.json)")
    for type_ in est.undecided:
        rows.append(f"    no price decision: {type_} (add it to its backend's prices.json, or its component's FACTS: its units, or free and why)")
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

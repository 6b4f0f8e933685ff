"""The price on every plan: provider calls from the refreshes, billed units from the backend, list prices
and free decisions from one file, and no resource type any stack can declare left without a decision."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BeforeValidator

from components.eso_api import EXTERNAL_SECRET_TYPE
from infra import config as config_mod
from infra import stackfiles
from infra.backends import PRICE_SHEET, REGISTRY, BackendName, load, names
from infra.catalog import CATALOG
from infra.config import CommonSettings
from infra.durations import HOURS_PER_MONTH, go_duration_seconds
from infra.fields import PROJECT, ConfigError
from stacktools import cost
from stacktools import plan as plan_cmd
from tests.support import MULTI_CLUSTER, PLANS, ROOT, STACKS, plans_of, render, render_named, run_main
from tests.test_authority import cluster_ca

ES = EXTERNAL_SECRET_TYPE
# The backends with a price sheet (a new one starts without: its types are then reported undecided).
PRICED = [name for name in names() if PRICE_SHEET.available(load(name))]


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
    if plan.outputs["backend"] not in PRICED:
        # A backend without a price sheet yet: its own types are reported undecided, never counted free.
        own = {r["type"] for r in plan.resources} & set(load(plan.outputs["backend"]).resources)
        assert own and own <= set(est.undecided)
        return
    assert est.unpriced == [], f"units without a price in its prices.json: {est.unpriced}"
    assert est.undecided == (), f"types without a price decision: {est.undecided}"
    periodic = [r for r in plan.of_type(ES) if r["inputs"]["spec"].get("refreshPolicy", "Periodic") == "Periodic"]
    assert (est.calls > 0) is bool(periodic)
    billed = REGISTRY[plan.outputs["backend"]].billed
    assert {line.unit for line in est.lines} >= {u for r in plan.resources if r["type"] in billed for u in billed[r["type"]](r["inputs"], plan.resources)}


def test_every_price_names_its_source_and_the_date_it_was_read():
    sheets = cost.price_sheets()
    for name in PRICED:
        units = cost.sheet_of(sheets, name)["units"]
        assert units["calls"]["per_call"] is True, name
        for unit, spec in units.items():
            where = f"{name}/{unit}"
            assert dt.date.fromisoformat(spec["read"]) <= dt.date.today(), where
            assert spec["source"] and all(isinstance(s, str) and s for s in spec["source"]), where
            assert spec["what"], where
            # Priced (a price per so many units) or free with the reason, never both, never neither.
            assert ("price" in spec) != ("free" in spec), where
            if "price" in spec:
                assert spec["price"] >= 0 and spec["per"] >= 1, where
                # A price the field notes do not give says where it came from.
                assert "provenance" in spec or any("field-notes.md" in s for s in spec["source"]), where
            else:
                assert spec["free"], where


def test_a_gcp_secret_bills_a_version_per_location_and_its_rotation_notices():
    (gcp,) = [b for b in REGISTRY.values() if "gcp:secretmanager/secret:Secret" in b.billed]
    billed = gcp.billed["gcp:secretmanager/secret:Secret"]
    two = {"replication": {"userManaged": {"replicas": [{"location": "a"}, {"location": "b"}]}}}
    assert billed(two, []) == {"version-location-months": 2}
    assert billed({"replication": {"auto": {}}, "rotation": {"rotationPeriod": f"{730 * 3600}s"}}, []) == {
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


# --- Every type any stack can declare has a decision -------------------------------------------
#
# The walk renders, for each backend, its shipped and example stacks as they are, and variants of
# them written as stack files with every optional feature on. Which keys are features, and their
# values, is derived from the settings models and Pulumi.yaml: a boolean is set to the value that is
# not its default, an integer to the bound that is not its default, and each choice takes each of
# its values, one key at a time, over all the rest (the stacks themselves hold the defaults). A key
# that is off by default ("", [] or {} in Pulumi.yaml) and free-form needs a valid example below:
# a new one without an example fails the walk, naming it. Where two features exclude each other,
# the program's own one-line refusal names the key and the variant drops it; every key must still be
# on in at least one variant, and every choice value walked, or the walk fails.

EXAMPLES: dict[str, Any] = {
    # {key} is the base stack's own value of that key (its account, region, project).
    "kubeconfig": "~/.kube/aragora",
    "esoValues": {"nodeSelector": {"pool": "system"}},
    "alertLabels": ["team=platform"],
    "awsEksClusterName": "aragora-{kubeContext}",
    "awsVpcId": "vpc-0abc12345def67890",
    "awsVpcSubnetIds": ["subnet-0abc12345def67890", "subnet-0abc12345def67891"],
    "awsVpcSecurityGroupIds": ["sg-0abc12345def67890"],
    "awsVpcEndpointIds": ["vpce-0abc12345def67890"],
    "awsSecretWriterArns": ["arn:aws:iam::{awsAccountId}:role/operator"],
    "awsRotationLambdaArns": [f"{next(iter(CATALOG.by_group))}=arn:aws:lambda:{{awsRegion}}:{{awsAccountId}}:function:rotate"],
    "awsDeployerRoleArn": "arn:aws:iam::{awsAccountId}:role/deployer",
    "awsKmsAdminArns": ["arn:aws:iam::{awsAccountId}:role/platform-admin"],
    "vaultKubernetesIssuer": "https://kubernetes.default.svc.cluster.local",
    "vaultAuditTarget": "audit.example.com:9090",
    "vaultCaBundle": lambda cfg: base64.b64encode(cfg["vaultKubernetesCaCert"].encode()).decode(),
    "vaultTokenBoundCidrs": ["10.0.0.0/16"],
    "gcpProjectNumber": "123456789012",
    "gcpReplicaLocations": ["us-east1"],
    "gcpKmsKeyName": "projects/{gcpProject}/locations/us-east1/keyRings/aragora/cryptoKeys/secrets",
    "gcpClusterLocation": "us-east1",
    "gcpClusterName": "aragora",
    "gcpClusterProject": "aragora-cluster-example",
    "gcpClusterProjectNumber": "210987654321",
    "gcpDeployerServiceAccount": "aragora-deployer@{gcpProject}.iam.gserviceaccount.com",
    "gcpRotationStart": "2027-01-04T09:00:00Z",
    "clusters": lambda cfg: {"home": {}, "second": _second_cluster(cfg)},
}


def _second_cluster(cfg: dict[str, str]) -> dict[str, Any]:
    """A second cluster of the base stack's environment, in its primary region (VPC endpoints are the primary
    region's alone): its own context and, for each per-cluster key the base sets, an authority of its own."""
    second: dict[str, Any] = {"kubeContext": f"{cfg['kubeContext']}-second"}
    if cfg.get("awsOidcProviderArn"):
        # Another EKS cluster's issuer: the same host, its own 32-character id.
        second["awsOidcProviderArn"] = re.sub(r"/id/[A-Z0-9]{32}$", "/id/" + "5EC0" * 8, cfg["awsOidcProviderArn"])
    if cfg.get("awsRegion"):
        # Its own EKS cluster, should a variant identify clusters by Pod Identity.
        second["awsEksClusterName"] = EXAMPLES["awsEksClusterName"].format(kubeContext=second["kubeContext"])
    if cfg.get("vaultKubernetesHost"):
        second |= {
            "vaultKubernetesHost": "https://second.k8s.example.com:6443",
            "vaultKubernetesCaCert": cluster_ca(second["kubeContext"]),
            "vaultAuthMount": f"{cfg['vaultAuthMount']}-second",
        }
    if cfg.get("gcpClusterName"):
        second["gcpClusterName"] = f"{cfg['gcpClusterName']}-second"
    return second
OFF = ("", [], {})


def _fields(backend: str):
    """``(key, field)`` of every key a stack of ``backend`` reads, but the backend choice itself."""
    for model in (CommonSettings, REGISTRY[backend].settings):
        for field in model.model_fields.values():
            if field.annotation is not BackendName:
                yield field.alias, field


def _integer_bounds(field) -> tuple[int, int] | None:
    """``(low, high)`` of an integer key, from its own rule's refusal of an out-of-range value."""
    for meta in field.metadata:
        if isinstance(meta, BeforeValidator):
            try:
                meta.func("999999999")
            except ValueError as err:
                found = re.search(r"from (-?[0-9]+) to (-?[0-9]+)", str(err))
                return (int(found[1]), int(found[2])) if found else None
    return None


def _choices(backend: str) -> dict[str, list[str]]:
    return {key: [e.value for e in f.annotation] for key, f in _fields(backend) if isinstance(f.annotation, type) and issubclass(f.annotation, Enum)}


def _on(field, default: Any) -> Any:
    """The value that turns a boolean or integer key on: not its default."""
    if field.annotation is bool:
        return stackfiles.encode_value(default) != "true"
    bounds = _integer_bounds(field)
    assert bounds, f"the cost walk cannot read the bounds of integer key {field.alias} from its rule"
    low, high = bounds
    return high if str(default) != str(high) else low


def _example(key: str, cfg: dict[str, str]) -> Any:
    value = EXAMPLES[key]
    if callable(value):
        return value(cfg)
    if isinstance(value, str):
        return value.format(**cfg)
    if isinstance(value, list):
        return [v.format(**cfg) for v in value]
    return value


def _variant(stack: str, base_file: Path, backend: str, choices: dict[str, str], out: Path) -> tuple[Path, dict[str, Any]]:
    """``base_file`` with every feature on and ``choices``, written as ``out/Pulumi.<stack>.yaml``;
    returns it and the values it sets over the base."""
    declared = stackfiles.declared_config()
    # The stack file as the CLI reads it (plain scalars stay text), so the copy means what it meant.
    base = {k.removeprefix(f"{PROJECT}:"): v for k, v in (stackfiles._read_yaml(base_file, "base").get("config") or {}).items()}
    cfg = {k.removeprefix(f"{PROJECT}:"): v for k, v in stackfiles.stack_config(stack, base_file).items()}
    overrides: dict[str, Any] = dict(choices)
    no_example = []
    for key, field in _fields(backend):
        default = declared[key].get("default")
        if key in choices:
            continue
        if field.annotation in (bool, int):
            overrides[key] = _on(field, default)
        elif key in base and stackfiles.encode_value(base[key]) != stackfiles.encode_value(default):
            continue  # the stack already sets it
        elif "default" in declared[key] and default in OFF:
            if key not in EXAMPLES:
                no_example.append(key)
                continue
            overrides[key] = _example(key, cfg)
    assert not no_example, f"optional keys with no example value for the cost walk: {no_example} (add one to EXAMPLES)"
    path = out / f"Pulumi.{stack}.yaml"
    for _ in range(2 * len(overrides) + 2):
        path.write_text(yaml.safe_dump({"config": {f"{PROJECT}:{k}": v for k, v in {**base, **overrides}.items()}}))
        try:
            config_mod.from_stack_file(stack, path)
            return path, overrides
        except ConfigError as err:
            key = re.match(rf"{PROJECT}:([A-Za-z0-9]+): ", str(err))
            if key is None:
                raise AssertionError(f"not a one-line key error: {err}") from None
            if key[1] in overrides and key[1] not in choices:
                del overrides[key[1]]  # excluded by another feature in this variant
            elif key[1] in EXAMPLES and key[1] not in overrides:
                overrides[key[1]] = _example(key[1], cfg)  # required by a feature in this variant
            else:
                raise AssertionError(f"the cost walk cannot build a valid variant of {base_file.name}: {err}") from None
    raise AssertionError(f"the cost walk did not settle on a valid variant of {base_file.name}")


@pytest.fixture(scope="session")
def walk(tmp_path_factory):
    """``backend -> (plans, keys turned on, choice values walked)``, once per worker."""

    @cache
    def walked(backend: str):
        # The single-cluster configurations: the walk turns clusters on itself (EXAMPLES), over each of them.
        names = sorted(n for n in plans_of(backend) if n not in MULTI_CLUSTER)
        assert names, f"backend {backend} has no shipped or example stack: the cost walk cannot reach its types"
        declared = stackfiles.declared_config()
        choices = _choices(backend)
        defaults = {key: declared[key]["default"] for key in choices}
        # Each other value of each choice, one at a time, over every other choice at its default
        # (which the other variants walk; a single choice needs one variant at its default too).
        variants = [{**defaults, key: v} for key, values in choices.items() for v in values if v != defaults[key]]
        variants = variants if len(choices) > 1 else [defaults, *variants]
        plans = [render_named(name) for name in names]
        turned_on: set[str] = set()
        walked_values: set[tuple[str, str]] = set()
        # Every stack is walked with its features on at least once, the choices spread over them.
        for i in range(max(len(variants), len(names))):
            chosen = variants[i % len(variants)]
            stack, config_file = PLANS[names[i % len(names)]]
            out = tmp_path_factory.mktemp(f"cost-{backend}-{i}")
            path, _ = _variant(stack, config_file or stackfiles.stack_file(stack), backend, chosen, out)
            plans.append(render(stack, path))
            # What the variant runs with, as the CLI hands it over: the keys it has on, the values it walks.
            ran = {k.removeprefix(f"{PROJECT}:"): v for k, v in stackfiles.stack_config(stack, path).items()}
            turned_on |= {k for k, _ in _fields(backend) if ran.get(k, "") != stackfiles.encode_value(declared[k].get("default"))}
            walked_values |= {(k, ran[k]) for k in choices}
        return plans, turned_on, walked_values

    return walked


@pytest.mark.parametrize("backend", PRICED)
def test_every_type_any_stack_can_declare_has_a_price_decision(backend, walk):
    plans, turned_on, walked_values = walk(backend)
    # The walk reached every feature: each key on, each choice at each value.
    declared = stackfiles.declared_config()
    for key, field in _fields(backend):
        if field.annotation in (bool, int) or declared[key].get("default", None) in OFF:
            assert key in turned_on, f"the cost walk never turned {key} on (every variant refused it)"
    assert walked_values == {(k, v) for k, values in _choices(backend).items() for v in values}
    sheets = cost.price_sheets()
    common, sheet = sheets["common"]["types"], cost.sheet_of(sheets, backend)
    billed = REGISTRY[backend].billed
    types = {r["type"] for plan in plans for r in plan.resources}
    for type_ in sorted(types):
        decision = cost.decision_of(sheets, backend, type_)
        assert decision is not None, f"{type_} ({backend}) has no price decision in its prices.json or FACTS: its units, or free and why"
        assert not (type_ in common and type_ in sheet["types"]), f"{type_} is decided twice (common and {backend})"
        assert ("units" in decision) != ("free" in decision), type_
        if "free" in decision:
            assert decision["free"].strip(), type_
            assert type_ not in billed, f"{type_} is free in the sheet but {backend}'s billed counts it"
        else:
            assert type_ in billed, f"{type_} has units in the sheet but {backend}'s billed does not count it"
            assert set(decision["units"]) <= set(sheet["units"]), type_
            for plan in plans:
                for r in plan.of_type(type_):
                    assert set(billed[type_](r["inputs"], plan.resources)) <= set(decision["units"]), type_
    # And no stale decision: every type the sheet decides is one some stack declares.
    assert set(sheet["types"]) <= types, f"decisions for types no {backend} stack declares: {set(sheet['types']) - types}"


def test_common_decisions_are_for_types_of_no_one_backend():
    sheets = cost.price_sheets()
    backends = sheets["backends"]
    # Common types are any backend's: none of them may name a backend-specific provider package.
    for type_ in sheets["common"]["types"]:
        assert type_.split(":")[0] in ("pulumi", "kubernetes", "aragora"), type_
        assert not any(type_.startswith((f"{b}:", f"aragora:{b}:", f"pulumi:providers:{b}")) for b in backends), type_
        assert not type_.startswith("pulumi:providers:") or type_ == "pulumi:providers:kubernetes", type_


# --- The endpoints' price: staging with awsVpcEndpoints create (issue 23, Done when) ------------

ENDPOINTS = """
  aragora-secrets:awsVpcEndpoints: create
  aragora-secrets:awsVpcId: vpc-0abc12345def67890
  aragora-secrets:awsVpcSubnetIds: [subnet-0abc12345def67890, subnet-0abc12345def67891]
  aragora-secrets:awsVpcSecurityGroupIds: [sg-0abc12345def67890]
"""
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def _aws_stack() -> str:
    """A shipped stack of the backend that bills VPC endpoints, staging first (the issue's case)."""
    stacks = [s for s in STACKS if VPC_ENDPOINT in REGISTRY[render(s).outputs["backend"]].billed]
    assert stacks, "no shipped stack of a backend that bills VPC endpoints"
    return "staging" if "staging" in stacks else stacks[0]


def test_staging_with_vpc_endpoints_costs_more_by_the_endpoints_price(tmp_path):
    stack = _aws_stack()
    source = stackfiles.stack_file(stack)
    assert "awsVpc" not in source.read_text(), f"{source.name} already sets network isolation: the keys below are appended once each"
    with_endpoints = tmp_path / "with" / source.name
    with_endpoints.parent.mkdir()
    with_endpoints.write_text(source.read_text().rstrip("\n") + "\n" + ENDPOINTS.lstrip("\n"))
    base, after = tmp_path / "base", tmp_path / "after"
    assert run_main(plan_cmd.main, ["--stack", stack, "--out", str(base)]).returncode == 0
    diff = run_main(plan_cmd.main, ["--config-file", str(with_endpoints), "--out", str(after), "--diff", str(base)])
    assert diff.returncode == 1, diff.stderr  # changes
    # Expected from the stack file (two subnets: two AZs), the price sheet and the endpoints declared.
    zones = len(yaml.safe_load(ENDPOINTS)["aragora-secrets:awsVpcSubnetIds"])
    unit = cost.sheet_of(cost.price_sheets(), "aws")["units"]["endpoint-az-hours"]
    endpoints = [r for r in json.loads((after / "resources.json").read_text()) if r["type"] == VPC_ENDPOINT]
    assert endpoints and all(r["inputs"]["vpcEndpointType"] == "Interface" and len(r["inputs"]["subnetIds"]) == zones for r in endpoints)
    hours = len(endpoints) * zones * HOURS_PER_MONTH
    price = hours / unit["per"] * unit["price"]
    before_cost, after_cost = (json.loads((d / "cost.json").read_text()) for d in (base, after))
    assert after_cost["monthlyCost"] == pytest.approx(before_cost["monthlyCost"] + price, abs=0.01)
    # Nothing else changed: the base's lines are all still there, the endpoints' is the only new one.
    lines_after = {x["unit"]: x for x in after_cost["lines"]}
    assert {x["unit"]: x for x in before_cost["lines"]}.items() <= lines_after.items()
    assert lines_after["endpoint-az-hours"]["quantity"] == hours and set(lines_after) - {x["unit"] for x in before_cost["lines"]} == {"endpoint-az-hours"}
    resources = json.loads((after / "resources.json").read_text())
    assert f"    endpoint-az-hours: {hours:,} -> ${price:,.2f}" in cost.render_text(cost.estimate(resources, after_cost["backend"]))
    before, now = before_cost["monthlyCost"], after_cost["monthlyCost"]
    assert f"Cost per month: ${before:,.2f} -> ${now:,.2f} (+${now - before:,.2f})" in diff.stdout
    # docs/plan.md shows this very case: its line is what the diff prints for the shipped catalog, and its
    # endpoints' price (the difference) is what the diff prints for any catalog.
    (documented,) = re.findall(r"`(Cost per month: [^`]+)`", (ROOT / "docs" / "plan.md").read_text())
    (printed,) = [line for line in diff.stdout.splitlines() if line.startswith("Cost per month: ")]
    shape = re.compile(r"Cost per month: \$[0-9.,]+ -> \$[0-9.,]+ (\(\+\$[0-9.,]+\)); provider calls [0-9,]+ -> [0-9,]+")
    assert shape.fullmatch(documented)[1] == shape.fullmatch(printed)[1], (documented, printed)
    assert len(endpoints) == 3


# --- What each billed hook counts (known answers) ----------------------------------------------


def _billing(type_: str):
    (backend,) = [b for b in REGISTRY.values() if type_ in b.billed]
    return backend.billed[type_]


def test_an_interface_endpoint_bills_every_zone_hour_and_a_gateway_endpoint_nothing():
    billed = _billing(VPC_ENDPOINT)
    assert billed({"vpcEndpointType": "Interface", "subnetIds": ["subnet-a", "subnet-b"]}, []) == {"endpoint-az-hours": 2 * 730}
    assert billed({"vpcEndpointType": "Gateway"}, []) == {}


def test_a_rotating_kms_key_bills_the_first_two_rotations_as_key_months():
    billed = _billing("aws:kms/key:Key")
    assert billed({"enableKeyRotation": True}, []) == {"kms-key-months": 1, "kms-rotation-key-months": 2}
    assert billed({"enableKeyRotation": False}, []) == {"kms-key-months": 1}
    # Every shipped key rotates, so every aws plan prices it.
    for name in PLANS:
        plan = render_named(name)
        keys = plan.of_type("aws:kms/key:Key")
        lines = {x.unit: x.quantity for x in cost.estimate(plan.resources, plan.outputs["backend"]).lines}
        rotating = sum(bool(k["inputs"].get("enableKeyRotation")) for k in keys)
        assert rotating == len(keys)  # docs/plan.md: every key here rotates
        assert lines.get("kms-rotation-key-months", 0) == 2 * rotating


def _secret(name: str, urn_provider: str, **tags: str) -> dict:
    return {"type": "aws:secretsmanager/secret:Secret", "urn": name, "provider": f"{urn_provider}::id", "inputs": {"name": name, "tags": tags}}


def test_a_config_rule_bills_each_secret_in_its_scope_per_evaluation():
    billed = _billing("aws:cfg/rule:Rule")
    provider = {"type": "pulumi:providers:aws", "urn": "urn:p", "inputs": {"defaultTags": json.dumps({"tags": {"environment": "staging"}})}}
    resources = [
        provider,
        _secret("a", "urn:p", group="db"),
        _secret("b", "urn:p", group="api"),
        _secret("c", "urn:other", environment="production"),
    ]

    def rule(identifier: str, **scope: str) -> dict:
        return {"source": {"owner": "AWS", "sourceIdentifier": identifier}, "scope": {"complianceResourceTypes": ["AWS::SecretsManager::Secret"], **scope}}

    # Periodic, every 24 h by default: 730 / 24 evaluations per secret; the provider's default tags count.
    assert billed(rule("SECRETSMANAGER_SECRET_UNUSED", tagKey="environment", tagValue="staging"), resources) == {
        "config-rule-evaluations": pytest.approx(2 * 730 / 24)
    }
    assert billed({**rule("SECRETSMANAGER_SECRET_PERIODIC_ROTATION", tagKey="group", tagValue="db"), "maximumExecutionFrequency": "One_Hour"}, resources) == {
        "config-rule-evaluations": pytest.approx(730)
    }
    # Change-triggered: one recorded change per secret a month.
    assert billed(rule("SECRETSMANAGER_USING_CMK", tagKey="environment", tagValue="staging"), resources) == {"config-rule-evaluations": 2}
    assert billed(rule("SECRETSMANAGER_USING_CMK", tagKey="environment", tagValue="nowhere"), resources) == {}


def test_every_config_rule_a_shipped_stack_declares_has_a_known_trigger():
    from infra.backends.aws import CONFIG_RULE_TRIGGERS

    rules = [r for name in PLANS for r in render_named(name).of_type("aws:cfg/rule:Rule")]
    assert rules, "no shipped stack declares AWS Config rules: this test would prove nothing"
    assert {r["inputs"]["source"]["sourceIdentifier"] for r in rules} <= set(CONFIG_RULE_TRIGGERS)


# --- What the terminal shows -------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PLANS))
def test_counts_print_as_integers_and_free_units_say_why(name):
    plan = render_named(name)
    est = cost.estimate(plan.resources, plan.outputs["backend"])
    text = cost.render_text(est)
    for line in est.lines:
        if line.free:
            assert f"    {line.unit}: {line.quantity:,.0f} -> {line.free}" in text
        elif line.price is not None and float(line.quantity).is_integer():
            assert f"    {line.unit}: {int(line.quantity):,} -> ${line.cost:,.2f}" in text
    assert not re.search(r"^    [a-z-]+: [0-9,]+\.00 ->", text, re.M), text


def test_vaults_calls_say_self_hosted_not_counted():
    sheets = cost.price_sheets()
    self_hosted = [n for n in PLANS if cost.sheet_of(sheets, render_named(n).outputs["backend"])["units"].get("calls", {}).get("free")]
    assert self_hosted, "no shipped or example stack of a backend whose calls are not counted"
    for name in self_hosted:
        stack, config_file = PLANS[name]
        result = run_main(plan_cmd.main, ["--config-file", str(config_file or stackfiles.stack_file(stack))])
        assert result.returncode == 0, result.stderr
        calls = cost.estimate(render_named(name).resources, render_named(name).outputs["backend"]).calls
        assert calls > 0 and f"    calls: {calls:,.0f} -> self-hosted, not counted" in result.stdout


def test_the_plan_doc_says_what_each_unit_counts_and_what_is_not_counted():
    text = (ROOT / "docs" / "plan.md").read_text().split("## What a plan costs", 1)[1]
    sheets = cost.price_sheets()
    for name in PRICED:
        for unit in cost.sheet_of(sheets, name)["units"]:
            assert f"`{unit}`" in text, f"docs/plan.md's cost section does not say what {name}'s {unit} counts"
    assert "`self-hosted, not counted`" in text and "`not_counted`" in text and "`free`" in text


def test_a_type_without_a_decision_is_reported_never_counted_free():
    resources = [{"type": "made:up/thing:Thing", "urn": "u", "inputs": {}}, {"type": "pulumi:pulumi:Stack", "urn": "s", "inputs": {}}]
    est = cost.estimate(resources, next(iter(REGISTRY)))
    assert est.undecided == ("made:up/thing:Thing",)
    assert [f.type for f in est.free] == ["pulumi:pulumi:Stack"]
    assert "no price decision: made:up/thing:Thing" in cost.render_text(est)
    assert est.to_json()["undecided"] == ["made:up/thing:Thing"]

"""The plan diff reads like `pulumi preview --diff`, or better: list elements by their natural key,
nothing cut, multi-line text as a line diff, an Outputs section, and a warning when `pulumi up`
would wait for a value nobody has put in the backend yet. Expectations come from the catalog."""

from __future__ import annotations

import json
from functools import cache

import pytest

from components.eso_api import EXTERNAL_SECRET_TYPE
from infra.catalog import CATALOG, OPTIONAL, REQUIRED, SESSION, Catalog, SecretEntry
from stacktools import plandiff
from tests.support import PLANS, backend_of, plans_of, render, render_named

ONE_PER_BACKEND = sorted({plans_of(backend_of(n))[0] for n in PLANS})
# Invented entries, checked absent from the catalog below (never the README's example, which a user may add for real).
NEW = {
    "required": SecretEntry("DIFF_TEST_REQUIRED_URL", "diff-test-group", "url", "diff-test-required-url", REQUIRED, "invented: required, new group"),
    "optional": SecretEntry(
        "DIFF_TEST_OPTIONAL_KEY", list(CATALOG.by_group)[-1], "diff-test-optional", "diff-test-optional-key", OPTIONAL, "invented: optional"
    ),
    "session": SecretEntry(
        "DIFF_TEST_SESSION_KEY",
        next((e.group for e in CATALOG if e.sync is SESSION), "diff-test-session"),
        "diff-test-session",
        "diff-test-session-key",
        SESSION,
        "invented: session",
    ),
}


def test_the_invented_entries_are_new_to_the_catalog():
    for entry in NEW.values():
        assert entry.env_var not in {e.env_var for e in CATALOG} and entry.slug not in {e.slug for e in CATALOG}
        assert (entry.group, entry.key) not in {(e.group, e.key) for e in CATALOG}


@cache
def _diff_text(name: str, *added: SecretEntry) -> tuple[str, object, object]:
    base = render_named(name)
    stack, config_file = PLANS[name]
    head = render(stack, config_file, secrets=Catalog([*CATALOG.entries, *added]))
    return plandiff.render_text(plandiff.diff(base.resources, head.resources), (base.outputs, head.outputs), stack), base, head


def _external_secret_with(plan, entry: SecretEntry) -> dict:
    (external,) = [r for r in plan.of_type(EXTERNAL_SECRET_TYPE) if any(
        d["secretKey"] == entry.env_var for d in r["inputs"]["spec"]["data"])]
    return external


@pytest.mark.parametrize("name", ONE_PER_BACKEND)
@pytest.mark.parametrize("kind", list(NEW))
def test_an_appended_value_shows_its_secret_key_and_remote_key_in_full(name, kind):
    entry = NEW[kind]
    text, _, head = _diff_text(name, entry)
    external = _external_secret_with(head, entry)
    (item,) = [d for d in external["inputs"]["spec"]["data"] if d["secretKey"] == entry.env_var]
    line = f"    + spec.data[secretKey={entry.env_var}]: {json.dumps(item, sort_keys=True)}"
    assert line in text.splitlines(), text
    assert item["remoteRef"]["key"] in line and "..." not in text


@pytest.mark.parametrize("name", ONE_PER_BACKEND)
@pytest.mark.parametrize("kind", list(NEW))
def test_up_waits_only_for_values_of_an_awaited_external_secret_and_the_diff_says_so(name, kind):
    entry = NEW[kind]
    text, _, head = _diff_text(name, entry)
    external = _external_secret_with(head, entry)
    awaited = (external["inputs"]["metadata"].get("annotations") or {}).get("pulumi.com/skipAwait") != "true"
    assert awaited is entry.sync.await_ready  # the catalog's sync class decides, through the annotation
    warned = [line for line in text.splitlines() if line.startswith(f"    {external['inputs']['metadata']['name']} {entry.env_var}: ")]
    assert bool(warned) is awaited, text
    if awaited:
        assert f"make check-values STACK={PLANS[name][0]}" in text


def test_a_removed_value_is_one_removed_element_not_a_shifted_list():
    name = plans_of("aws")[0]
    removed = next(e for e in CATALOG if e.sync is REQUIRED and len(CATALOG.by_sync_class[REQUIRED]) > 1)
    base = render_named(name)
    stack, config_file = PLANS[name]
    head = render(stack, config_file, secrets=Catalog([e for e in CATALOG.entries if e is not removed]))
    text = plandiff.render_text(plandiff.diff(base.resources, head.resources))
    data_lines = [line for line in text.splitlines() if "spec.data[" in line]
    assert data_lines == [next(line for line in data_lines if line.startswith(f"    - spec.data[secretKey={removed.env_var}]: "))]


def test_a_multi_line_policy_change_is_a_unified_line_diff():
    name = plans_of("vault")[0]
    text, base, head = _diff_text(name, NEW["required"])
    old = base.one("vault:index/policy:Policy")["inputs"]["policy"]
    new = head.one("vault:index/policy:Policy")["inputs"]["policy"]
    assert old != new and "\n" in new
    added = [line.strip()[1:] for line in text.splitlines() if line.startswith("        +") and not line.startswith("        +++")]
    assert added and all(line in new.splitlines() for line in added)
    assert any(NEW["required"].group in line for line in added)


def test_long_values_are_never_cut():
    base = [{"urn": "u", "type": "t", "name": "n", "inputs": {"d": "a" * 400}, "depends_on": []}]
    head = [{"urn": "u", "type": "t", "name": "n", "inputs": {"d": "b" * 400}, "depends_on": []}]
    text = plandiff.render_text(plandiff.diff(base, head))
    assert f'~ d: "{"a" * 400}" => "{"b" * 400}"' in text


def test_lists_without_a_natural_key_are_compared_by_position_with_additions_shown():
    base = [{"urn": "u", "type": "t", "name": "n", "inputs": {"l": [1, 2]}, "depends_on": []}]
    head = [{"urn": "u", "type": "t", "name": "n", "inputs": {"l": [1, 3, 4]}, "depends_on": []}]
    lines = plandiff.render_text(plandiff.diff(base, head)).splitlines()
    assert "    ~ l[1]: 2 => 3" in lines and "    + l[2]: 4" in lines


def test_changed_outputs_have_their_own_section():
    text, base, head = _diff_text(plans_of("aws")[0], NEW["required"])
    section = text.split("\nOutputs:\n", 1)[1].split("\n\n")[0].splitlines()
    added = {k for k in head.outputs if k not in base.outputs} | {
        f"{k}.{sub}" for k, v in head.outputs.items() if isinstance(v, dict) for sub in v if sub not in (base.outputs.get(k) or {})
    }
    assert added and all(any(line.startswith(f"    + {path}: ") for line in section) for path in added)

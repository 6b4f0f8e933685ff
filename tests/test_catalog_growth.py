"""Adding secrets is one catalog line each: every invariant still holds for a grown catalog.

The entries added here are new in every way the catalog can grow (a REQUIRED
value in a new group, an OPTIONAL one in an existing group, a SESSION one),
plus the README's own example line, read from the README and evaluated as
written. The expectations are computed from the grown catalog.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from components.eso_api import CLUSTER_SECRET_STORE_TYPE, EXTERNAL_SECRET_TYPE
from infra import catalog
from tests.support import PLANS, ROOT, clusters_of, facts_of, one_through, render

ES = EXTERNAL_SECRET_TYPE
STORE = CLUSTER_SECRET_STORE_TYPE


def _readme_line() -> str:
    section = (ROOT / "README.md").read_text().split("### Add a secret", 1)[1]
    return re.search(r"```python\n(.+?)\n```", section, re.S)[1].strip().rstrip(",")


EXISTING_GROUP = catalog.CATALOG.entries[-1].group
README_ENTRY = eval(_readme_line(), vars(catalog))  # noqa: S307 - the README's line, verbatim, against the catalog module
GROWN = catalog.Catalog(
    (
        *catalog.CATALOG,
        catalog.SecretEntry("GROWTH_REQUIRED_URL", "growth-new-group", "url", "growth-required-url", catalog.REQUIRED, "grown: required, new group"),
        catalog.SecretEntry("GROWTH_OPTIONAL_KEY", EXISTING_GROUP, "growth-optional", "growth-optional-key", catalog.OPTIONAL, "grown: optional, existing group"),
        catalog.SecretEntry("GROWTH_SESSION_KEY", "growth-session", "key", "growth-session-key", catalog.SESSION, "grown: session"),
        # Once someone has added the README's example for real, the catalog already has it.
        *([] if README_ENTRY.env_var in {e.env_var for e in catalog.CATALOG} else [README_ENTRY]),
    )
)


def test_the_readme_example_line_is_a_catalog_entry_the_grown_catalog_syncs():
    assert isinstance(README_ENTRY, catalog.SecretEntry)
    assert README_ENTRY in GROWN.entries


@pytest.mark.parametrize("name", sorted(PLANS))
def test_a_grown_catalog_syncs_every_value_once_into_its_class_secret_from_its_backend_location(name):
    stack, config_file = PLANS[name]
    plan = render(stack, config_file, secrets=GROWN)
    external = {r["inputs"]["metadata"]["name"]: r["inputs"] for r in plan.of_type(ES)}
    assert set(external) == {GROWN.target_secret(s) for s in GROWN.by_sync_class}
    synced = Counter()
    for sync, entries in GROWN.by_sync_class.items():
        data = {d["secretKey"]: d["remoteRef"] for d in external[GROWN.target_secret(sync)]["spec"]["data"]}
        assert set(data) == {e.env_var for e in entries}
        synced.update(data.keys())
        for e in entries:
            ref = data[e.env_var]
            # Grouped backends read <app>/<env>/<group> with the key as property; per-value ones, one secret each.
            assert ref in ({"key": GROWN.app.grouped_path(stack, e.group), "property": e.key}, {"key": GROWN.app.per_value_id(stack, e)})
    assert synced == Counter(e.env_var for e in GROWN)
    # Every location the ExternalSecrets read exists as a container the stack declares.
    containers = {
        v for r in plan.resources if r["type"] in facts_of(name) and facts_of(name)[r["type"]].data_loss
        for v in (r["inputs"].get("name"), r["inputs"].get("secretId"))
        if isinstance(v, str)
    }
    locations = {d["remoteRef"]["key"] for es in external.values() for d in es["spec"]["data"]}
    if containers and not plan.of_type("vault:index/mount:Mount"):
        assert locations <= containers, locations - containers


@pytest.mark.parametrize("name", sorted(PLANS))
def test_a_grown_catalog_grants_read_on_every_location_and_each_clusters_store_still_waits_for_every_grant(name):
    stack, config_file = PLANS[name]
    plan = render(stack, config_file, secrets=GROWN)
    grants = [r for r in plan.resources if r["type"] in facts_of(name) and facts_of(name)[r["type"]].grant]
    assert grants
    for cluster, keys in clusters_of(plan).items():
        depends_on = set(one_through(plan, keys, STORE)["depends_on"])
        assert all(r["urn"] in depends_on for r in grants), cluster
    text = "\n".join(str(r["inputs"]) for r in grants) + "\n".join(str(r["inputs"]) for r in plan.of_type("aws:iam/policy:Policy"))
    for group in GROWN.by_group:
        # A prefix grant (AWS) covers a new group; exact grants (Vault paths, GCP per-secret bindings) must name it.
        prefix_grant = GROWN.app.prefix(stack) + "*" in text
        per_value = all(GROWN.app.per_value_id(stack, e) in text for e in GROWN.by_group[group])
        assert prefix_grant or per_value or GROWN.app.grouped_path(stack, group) in text, group


def test_the_invented_entries_are_new_to_the_catalog():
    # Checked absent before use: an entry the catalog already has would prove nothing about growth.
    invented = GROWN.entries[len(catalog.CATALOG.entries) : len(catalog.CATALOG.entries) + 3]
    assert len(invented) == 3
    for entry in invented:
        assert entry.env_var not in {e.env_var for e in catalog.CATALOG}
        assert entry.slug not in {e.slug for e in catalog.CATALOG}

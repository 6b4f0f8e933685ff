"""components/ is a library, backends are plug-ins: proven on the source, not by convention."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from infra.backends import REGISTRY
from stacktools.replacements import KUBERNETES
from tests.support import PLANS, ROOT, backend_of, render_named

COMPONENT_FILES = sorted(p for p in (ROOT / "components").rglob("*.py") if p.name != "__init__.py")
STORE = "kubernetes:external-secrets.io/v1:ClusterSecretStore"


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _component_classes(tree: ast.Module) -> list[ast.ClassDef]:
    return [
        n for n in ast.walk(tree)
        if isinstance(n, ast.ClassDef) and any(ast.unparse(b).endswith("ComponentResource") for b in n.bases)
    ]


@pytest.mark.parametrize("path", COMPONENT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_component_module_imports_nothing_of_the_program_or_the_tooling(path):
    assert not _imported(_tree(path)) & {"infra", "stacktools", "tests", "policy"}


@pytest.mark.parametrize("path", COMPONENT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_component_module_says_what_it_owns_and_what_it_does_not(path):
    tree = _tree(path)
    classes = _component_classes(tree)
    if not classes:
        return  # a shared value type (service_account.py)
    doc = ast.get_docstring(tree) or ""
    assert "Owns" in doc and "Does not own" in doc, path
    for cls in classes:
        assert ast.get_docstring(cls), cls.name
    # One file per component.
    assert len(classes) == 1, [c.name for c in classes]


def test_every_component_resource_lives_in_components():
    outside = [
        f"{p.relative_to(ROOT)}:{c.name}"
        for p in [*ROOT.glob("infra/**/*.py"), *ROOT.glob("stacktools/*.py")]
        for c in _component_classes(_tree(p))
    ]
    assert outside == []
    assert sum(len(_component_classes(_tree(p))) for p in COMPONENT_FILES) >= 11


def _string_constants(path: Path) -> set[str]:
    return {n.value for n in ast.walk(_tree(path)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_the_tooling_names_no_backend():
    names = set(REGISTRY)
    found = {}
    for path in ROOT.glob("stacktools/*.py"):
        hits = {
            s for s in _string_constants(path)
            if s in names or any(s.startswith((f"{n}:", f"pulumi:providers:{n}")) for n in names)
        }
        if hits:
            found[path.name] = sorted(hits)
    assert found == {}


# --- the backend contract, over every registered backend ------------------------

BACKENDS = sorted(REGISTRY)
ACTION = yaml.safe_load((ROOT / ".github/actions/stack-credentials/action.yml").read_text())


@pytest.mark.parametrize("name", BACKENDS)
def test_a_backend_is_its_package_and_declares_its_provider_and_every_type_it_names(name):
    backend = REGISTRY[name]
    assert backend.name == name and (ROOT / "infra/backends" / name / "settings.py").exists()
    assert any(t.startswith("pulumi:providers:") for t in backend.replace_on)
    known = set(backend.replace_on) | set(KUBERNETES)
    assert set(backend.value_types) <= known and set(backend.grant_types) <= known
    assert backend.value_types, "a backend holds values somewhere"


@pytest.mark.parametrize("name", BACKENDS)
def test_a_backend_names_the_ci_inputs_and_credentials_its_runs_need(name):
    backend = REGISTRY[name]
    assert backend.ci_inputs and set(backend.ci_inputs) <= set(ACTION["inputs"])
    assert callable(backend.value_age) and callable(backend.value_presence)


@pytest.mark.parametrize("plan_name", sorted(PLANS))
def test_every_type_a_stack_declares_is_its_backends_or_shared_and_documented(plan_name):
    plan = render_named(plan_name)
    backend = REGISTRY[backend_of(plan_name)]
    known = set(backend.replace_on) | set(KUBERNETES)
    declared = {r["type"] for r in plan.resources if r["custom"]}
    assert declared <= known, declared - known
    # Its access documents are what `plan --out` writes, and name real files' contents.
    docs = backend.access_documents(plan.stack, plan.resources)
    assert docs and all(text.strip() for text in docs.values())
    for fname, text in docs.items():
        if fname.endswith(".json"):
            json.loads(text)


@pytest.mark.parametrize("plan_name", sorted(PLANS))
def test_store_is_created_only_after_every_grant_its_backend_declares(plan_name):
    plan = render_named(plan_name)
    depends_on = set(plan.one(STORE)["depends_on"])
    grants = [r for r in plan.resources if r["type"] in REGISTRY[backend_of(plan_name)].grant_types]
    assert grants
    for r in grants:
        assert r["urn"] in depends_on, r["name"]

"""components/ is a library, backends are plug-ins: proven on the source, not by convention."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.eso_api import CLUSTER_SECRET_STORE_TYPE, GROUP
from infra import stackfiles
from infra.backends import (
    ACCESS_DOCUMENTS,
    CI_CREDENTIALS,
    ROTATION_READER,
    STAMP_METADATA,
    VALUE_READER,
    WORKSPACE,
    Capability,
    CapabilityMissing,
    capability,
    load,
    names,
)
from stacktools.plan import policy_documents
from tests.support import PLANS, ROOT, STACKS, backend_of, clusters_of, configured, facts_of, one_through, render_named

# A package's __init__.py counts when it holds a component itself (a new backend's first one).
COMPONENT_FILES = sorted(
    p for p in (ROOT / "components").rglob("*.py") if p.name != "__init__.py" or "ComponentResource" in p.read_text()
)


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
def test_ordering_travels_in_resource_options_never_in_component_args(path):
    # depends_on in an Args dataclass hides ordering from Pulumi's own options (and from aliases, providers,
    # protect merging); the components take it in ResourceOptions and pass it on to their children.
    fields = {
        (cls.name, stmt.target.id)
        for cls in ast.walk(_tree(path)) if isinstance(cls, ast.ClassDef) and cls.name.endswith("Args")
        for stmt in cls.body if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
    }
    assert not {f for f in fields if f[1] in {"depends_on", "dependsOn"}}


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
    backends = set(names())
    found = {}
    for path in ROOT.glob("stacktools/*.py"):
        hits = {
            s for s in _string_constants(path)
            if s in backends or any(s.startswith((f"{n}:", f"pulumi:providers:{n}")) for n in backends)
        }
        if hits:
            found[path.name] = sorted(hits)
    assert found == {}


# --- the backend contract, over every backend package ---------------------------

BACKENDS = list(names())
ACTION = yaml.safe_load((ROOT / ".github/actions/stack-credentials/action.yml").read_text())
CAPABILITIES = [ACCESS_DOCUMENTS, WORKSPACE, ROTATION_READER, VALUE_READER, STAMP_METADATA, CI_CREDENTIALS]


@pytest.mark.parametrize("name", BACKENDS)
def test_a_backend_is_its_package_and_declares_its_provider_and_every_type_it_names(name):
    backend = load(name)
    assert backend.name == name and (ROOT / "infra/backends" / name / "settings.py").exists()
    assert any(t.startswith("pulumi:providers:") for t in backend.resources)
    assert any(f.data_loss for f in backend.resources.values()), "a backend holds values somewhere"
    assert any(f.grant for f in backend.resources.values()), "a backend grants ESO access somewhere"
    # Its Pulumi.yaml keys are exactly its settings' keys.
    assert set(backend.keys) == set(backend.settings.config_keys())


@pytest.mark.parametrize("name", BACKENDS)
def test_every_capability_a_backend_has_loads_and_its_ci_inputs_are_the_actions(name):
    # Capabilities are optional (a new backend starts with none), but one that is there must load.
    backend = load(name)
    for kind in CAPABILITIES:
        if (ROOT / "infra/backends" / name / (kind.file if not kind.attribute else f"{kind.file}.py")).exists():
            assert callable(capability(backend, kind)) or kind is CI_CREDENTIALS, f"{kind.label} of {name}"
    if CI_CREDENTIALS.available(backend):
        assert set(capability(backend, CI_CREDENTIALS)) <= set(ACTION["inputs"])


def test_the_shipped_stacks_backends_have_what_ci_and_the_operator_need():
    # The project's own stack files are deployed by CI and the operator: their backends need both.
    shipped = {configured(s, "backend") for s in STACKS}
    assert shipped
    for name in shipped:
        assert CI_CREDENTIALS.available(load(name)) and WORKSPACE.available(load(name)), name


def test_a_missing_capability_is_one_error_naming_it_and_the_backend(tmp_path):
    # A capability file the backend lacks: the error is the tool's one line, whatever the tool.
    backend = load(BACKENDS[0])
    absent = Capability("teleporter", "no_such_module", "beam")
    assert not absent.available(backend)
    with pytest.raises(CapabilityMissing, match=f"^teleporter is not available for {backend.name}$"):
        capability(backend, absent)
    with pytest.raises(CapabilityMissing, match="price list is not available"):
        capability(backend, Capability("price list", "no-such-file.json"))


@pytest.mark.parametrize("plan_name", sorted(PLANS))
def test_every_type_a_stack_declares_is_described_and_its_access_documents_are_written(plan_name):
    plan = render_named(plan_name)
    table = facts_of(plan_name)
    declared = {r["type"] for r in plan.resources if r["custom"]}
    assert declared <= set(table), declared - set(table)
    # Its access documents are what `plan --out` writes, and name real files' contents.
    docs = policy_documents(plan)
    assert bool(docs) is ACCESS_DOCUMENTS.available(load(backend_of(plan_name)))
    assert all(text.strip() for text in docs.values())
    for fname, text in docs.items():
        if fname.endswith(".json"):
            json.loads(text)


@pytest.mark.parametrize("plan_name", sorted(PLANS))
def test_each_clusters_store_is_created_only_after_every_grant_its_backend_declares(plan_name):
    plan = render_named(plan_name)
    table = facts_of(plan_name)
    grants = [r for r in plan.resources if r["type"] in table and table[r["type"]].grant]
    assert grants
    for cluster, keys in clusters_of(plan).items():
        depends_on = set(one_through(plan, keys, CLUSTER_SECRET_STORE_TYPE)["depends_on"])
        for r in grants:
            assert r["urn"] in depends_on, (cluster, r["name"])


def test_no_eso_type_or_api_version_is_copied_outside_components():
    # The tooling, the program, the policy pack and the tests name ESO's types through components/eso_api.py.
    copied = re.compile(rf"(kubernetes:)?{re.escape(GROUP)}/v\d")
    found = [
        str(p.relative_to(ROOT))
        for part in ("infra", "stacktools", "policy", "tests", "bench")
        for p in (ROOT / part).rglob("*.py")
        if ".venv" not in p.parts and copied.search(p.read_text())
    ]
    assert found == []


# --- a stack imports its own backend and no other -----------------------------------------------

ONE_PER_BACKEND = sorted({backend_of(n): n for n in sorted(PLANS, reverse=True)}.items())
IMPORTED = """
import json, sys
from stacktools import plan
code = plan.main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize(("backend", "plan_name"), ONE_PER_BACKEND, ids=[b for b, _ in ONE_PER_BACKEND])
def test_a_plan_imports_only_its_own_backend(backend, plan_name):
    stack, config_file = PLANS[plan_name]
    args = ["--stack", stack, *(["--config-file", str(config_file)] if config_file else [])]
    done = subprocess.run([sys.executable, "-c", IMPORTED, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    modules = set(result["modules"])
    assert f"infra.backends.{backend}.declare" in modules  # the check below is not vacuous
    others = [n for n in names() if n != backend]
    leaked = sorted(m for m in modules for n in others if m.split(".")[:3] == ["infra", "backends", n] or m.split(".")[:2] == ["components", n])
    assert leaked == []
    # cryptography only when the backend's own package uses it (the Vault settings parse a CA).
    own_code = "\n".join(p.read_text() for p in (ROOT / "infra" / "backends" / backend).rglob("*.py"))
    assert "cryptography" not in modules or "cryptography" in own_code


def test_pulumi_yaml_holds_every_backends_keys_as_its_package_declares_them():
    # `make docs` writes them; stale (a key added to a package, or edited in Pulumi.yaml by hand) fails here.
    from stacktools import configdoc

    current = configdoc.PROJECT_FILE.read_text()
    assert current == configdoc.render_project_file(current), "Pulumi.yaml is stale: run `make docs`"
    declared = stackfiles.declared_config()
    for name in names():
        assert set(load(name).keys) <= set(declared), name

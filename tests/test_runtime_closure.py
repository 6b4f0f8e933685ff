"""What `pulumi up` installs is enough to run the program: the runtime closure covers every import.

The Pulumi CLI (toolchain pip), CI's `make deps`, `make plan` and every
operator workspace install ``requirements.txt`` only. The closure is computed
from the installed metadata: this project's distribution and, transitively,
what each of its requirements requires (markers evaluated here). A module the
program or the plan-path tools import from a distribution outside it works on
a developer's machine (the dev requirements installed it) and fails on a fresh
one with ``ModuleNotFoundError``: these tests fail first.

Two views, because either alone misses cases: what a real run of the plan
and the operator generator loads (``sys.modules`` of a subprocess, over every
shipped stack and example), and every import statement of ``infra/`` and
``components/`` (the program's own code, including branches no shipped stack
takes).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from tests.support import PLANS, ROOT

PROJECT_DIST = "aragora-secrets"
OWN_PACKAGES = {"infra", "components", "stacktools"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def runtime_closure() -> frozenset[str]:
    """Distributions ``pip install -r requirements.txt`` brings: this project's requirements, transitively."""
    seen: set[str] = set()
    todo = [PROJECT_DIST]
    while todo:
        name = _canonical(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            # Extras of this distribution are never requested by requirements.txt; "extra" is unset.
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return frozenset(seen)


@cache
def _distributions_of() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def outside_closure(modules: set[str]) -> dict[str, list[str]]:
    """``{top-level module: its distributions}`` for each third-party module no runtime distribution provides."""
    closure = runtime_closure()
    problems = {}
    for module in sorted(modules):
        if module in sys.stdlib_module_names or module in OWN_PACKAGES or module in {"__main__", "_distutils_hack"}:
            continue
        dists = _distributions_of().get(module)
        if not dists:
            if module.startswith("_") or module in sys.builtin_module_names:
                continue  # CPython internals (_cffi_backend is found below through its distribution)
            problems[module] = ["(no installed distribution)"]
        elif not {_canonical(d) for d in dists} & closure:
            problems[module] = sorted(dists)
    return problems


_LOADED = """
import json, sys
from importlib import import_module
for module, argv in {runs!r}:
    code = import_module(module).main(argv)
    if code not in (0, None):
        sys.exit(f"{{module}} {{argv}} exited {{code}}")
# Only modules loaded from a file: Cython's cython_runtime and the like are not importable names.
json.dump(sorted({{n.split(".")[0] for n, m in list(sys.modules.items()) if getattr(m, "__file__", None)}}), open({out!r}, "w"))
"""


def _loaded_by(tmp_path: Path, runs: list[tuple[str, list[str]]]) -> set[str]:
    """Top-level modules one fresh interpreter has loaded after running each ``(module, argv)``'s main."""
    out = tmp_path / "loaded.json"
    code = _LOADED.format(runs=runs, out=str(out))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return set(json.loads(out.read_text()))


def test_the_runtime_closure_is_computed_from_the_requirements_not_the_venv():
    closure = runtime_closure()
    # What the program cannot run without is in it; what only the tests use is not.
    assert {"pulumi", "pulumi-aws", "pulumi-kubernetes", "pydantic", "pyyaml", "grpcio"} <= closure
    assert not {"pytest", "moto", "hvac", "boto3", "ruff", "hypothesis"} & closure
    # And the checker sees a dev-only module as outside (the check can fail).
    assert "pytest" in outside_closure({"pytest", "json", "infra"})


def test_every_module_the_plan_and_the_operator_generator_load_is_in_the_runtime_closure(tmp_path):
    runs = []
    for i, (stack, config_file) in enumerate(PLANS.values()):
        args = ["--stack", stack, *(["--config-file", str(config_file)] if config_file else [])]
        runs.append(("stacktools.plan", [*args, "--out", str(tmp_path / f"plan-{i}")]))
    runs.append(("stacktools.operator", ["--out", str(tmp_path / "operator"), "--repo", "https://example.com/o/r.git", "--org", "acme"]))
    loaded = _loaded_by(tmp_path, runs)
    assert {"pulumi", "pulumi_kubernetes", "yaml"} <= loaded, "the runs loaded nothing: the check would be vacuous"
    assert outside_closure(loaded) == {}


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:``: never imported at run time."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    return skipped


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_checking_only(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


# The backend tools' client libraries (boto3, hvac, google-cloud) are imported
# inside the tool callables only, run by `make rotation-report` / `check-values`,
# which install the dev requirements; everything else in the program is runtime.
_TOOL_CLIENTS = {"boto3", "botocore", "hvac", "google"}


def test_every_import_statement_of_the_program_is_in_the_runtime_closure():
    imported: set[str] = set()
    for part in ("infra", "components"):
        for path in sorted((ROOT / part).rglob("*.py")):
            imported |= _imports(path)
    assert {"pulumi", "pydantic"} <= imported
    problems = {m: d for m, d in outside_closure(imported).items() if m not in _TOOL_CLIENTS}
    assert problems == {}

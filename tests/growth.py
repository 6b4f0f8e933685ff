"""Growth checks: the project grows by a backend, an environment or a value, and the whole suite stays green.

    python -m tests.growth [backend|environment|value ...]     (make test-growth; make test runs it last)

Each check copies every file git tracks (tests, docs, .github, policy, ...) to
a temporary directory, commits the copy in a fresh git repository, makes the
change exactly as the docs tell a user to, counts what git says changed, and
runs lint and the FULL test suite inside the copy:

- **backend**: ``make backend NAME=<new>`` (docs/extending.md, Adding a backend):
  at most ``MAX_BACKEND_PATHS`` paths;
- **environment**: one new stack file, ``Pulumi.qa.yaml``, made from the first
  shipped one as docs/extending.md says (the stack's name and the ids it must
  own alone changed): exactly one path;
- **value**: the README's example catalog line (``SENTRY_DSN``) added to
  ``CATALOG``: exactly one path.

A name the check adds is first checked absent, so the check cannot pass by
adding what is already there. Not a pytest test: running the suite nested in
pytest would double its minute, so ``make test`` runs this after it (never
skipped; any failure exits 1 naming the check and the failing tests).

Exit status: 0 every check green, 1 a check failed, 2 the copy could not be made.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_BACKEND_PATHS = 7
NEW_BACKEND = "onepass"
NEW_ENVIRONMENT = "qa"
TIMEOUT = 900  # the suite is about a minute; a copy's first run compiles everything again


class GrowthError(Exception):
    """A growth check failed: its message is one line for the report."""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise GrowthError(f"{name} is missing (allowed: install it; the growth checks never skip)")
    return found


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "growth", "GIT_AUTHOR_EMAIL": "growth@localhost", "GIT_COMMITTER_NAME": "growth", "GIT_COMMITTER_EMAIL": "growth@localhost"}
    done = subprocess.run([_tool("git"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise GrowthError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def copy_tree(dest: Path) -> Path:
    """Every file git tracks, as it is in the working tree, committed in a fresh repository at ``dest``."""
    tracked = _git(ROOT, "ls-files", "-z", "--cached").split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if not source.exists():
            continue  # deleted in the working tree, not yet committed
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "copy")
    return dest


def changed_paths(repo: Path) -> list[str]:
    """What git says changed since the copy's commit, untracked files one by one."""
    return [line[3:] for line in _git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()]


def _env(repo: Path) -> dict[str, str]:
    # As make test runs the suite: bytecode is written (in the copy, git ignores __pycache__).
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}


def make_venv(repo: Path) -> Path:
    """A virtualenv for the copy: this one's packages, and the copy's own instead of this tree's.

    This virtualenv installs the project (this tree) in editable mode; a ``.pth`` file of a fresh
    virtualenv adds a directory of links to the copy's packages, then this one's site-packages, whose own
    ``.pth`` files (the editable install of this tree among them) are not read. The links keep the copy's
    working directory off ``sys.path``, as under the Pulumi CLI (test_plan_command checks); the tools
    beside this interpreter are linked beside the new one."""
    links = repo.parent / "pythonpath"
    links.mkdir(exist_ok=True)
    for package in repo.iterdir():
        if (package / "__init__.py").is_file():
            (links / package.name).symlink_to(package, target_is_directory=True)
    # At .venv (git ignores it), stamped as installed: `make <target>` in the copy runs with it as is.
    venv = repo / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True, timeout=120)
    # The tools the tests find beside their interpreter (moto_server, actionlint, zizmor, ruff, ...).
    for tool in Path(sys.executable).parent.iterdir():
        if not (venv / "bin" / tool.name).exists() and not tool.name.startswith(("python", "activate", "pip")):
            (venv / "bin" / tool.name).symlink_to(tool)
    purelib = Path(sysconfig.get_paths()["purelib"])
    site = venv / purelib.relative_to(sys.prefix)
    site.mkdir(parents=True, exist_ok=True)
    (site / "growth.pth").write_text(f"{links}\n{purelib}\n")
    for stamp in (".runtime-installed", ".dev-installed"):
        (venv / stamp).touch()
    return venv / "bin"


def run_suite(repo: Path, bin_dir: Path) -> None:
    """Lint and the whole suite in ``repo``, as ``make test`` runs them (the growth checks excluded: no recursion)."""
    lint = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", "--no-cache", "."], cwd=repo, capture_output=True, text=True, timeout=120)
    if lint.returncode != 0:
        raise GrowthError(f"ruff check: {lint.stdout.strip().splitlines()[-1] if lint.stdout.strip() else lint.stderr.strip()}")
    # -q once (addopts is replaced, so its -q is not added to this one): the summary line and -ra's
    # "FAILED <test> - <reason>" lines stay in the output this report quotes.
    suite = subprocess.run(
        [str(bin_dir / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=-q -ra -n 2 --dist worksteal"],
        cwd=repo,
        env=_env(repo),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if suite.returncode != 0:
        failed = [line for line in suite.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        tail = suite.stdout.strip().splitlines()[-1] if suite.stdout.strip() else suite.stderr.strip()
        # The copy is deleted with its temporary directory: the whole output is kept beside it to read.
        fd, log = tempfile.mkstemp(prefix=f"{repo.parent.name}-", suffix=".log")
        with os.fdopen(fd, "w") as out:
            out.write(suite.stdout + suite.stderr)
        raise GrowthError(f"the suite is red ({tail}; whole output in {log}): {'; '.join(failed[:8])}")


def grow_backend(repo: Path, bin_dir: Path) -> list[str]:
    """``make backend NAME=onepass`` exactly as a user runs it (the virtualenv is this one, already set up)."""
    if (repo / "infra/backends" / NEW_BACKEND).exists():
        raise GrowthError(f"backend {NEW_BACKEND} exists already: the check would add nothing")
    done = subprocess.run(
        [_tool("make"), "--no-print-directory", "backend", f"NAME={NEW_BACKEND}"],
        cwd=repo,
        env=_env(repo),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise GrowthError(f"make backend NAME={NEW_BACKEND}: exit {done.returncode}: {done.stderr.strip()}")
    paths = changed_paths(repo)
    if len(paths) > MAX_BACKEND_PATHS:
        raise GrowthError(f"make backend touched {len(paths)} paths (allowed: {MAX_BACKEND_PATHS}): {', '.join(paths)}")
    return paths


def _first_stack_file(repo: Path) -> Path:
    files = sorted(repo.glob("Pulumi.*.yaml"))
    if not files:
        raise GrowthError("no Pulumi.<stack>.yaml to copy")
    return files[0]


def grow_environment(repo: Path, bin_dir: Path) -> list[str]:
    """``cp Pulumi.<first>.yaml Pulumi.qa.yaml`` and edit what another environment may not share.

    As docs/extending.md says: the stack's own name in values becomes ``qa``, and every id the
    environment must own alone (an account, a project number: runs of six or more digits) becomes
    another of the same length. The separation tests then prove nothing is shared."""
    target = repo / f"Pulumi.{NEW_ENVIRONMENT}.yaml"
    if target.exists():
        raise GrowthError(f"{target.name} exists already: the check would add nothing")
    source = _first_stack_file(repo)
    stack = source.name.split(".")[1]
    text = re.sub(rf"\b{re.escape(stack)}\b", NEW_ENVIRONMENT, source.read_text())
    text = re.sub(r"\d{6,}", lambda m: "".join(str((int(c) + 4) % 10) for c in m.group()), text)
    target.write_text(text)
    paths = changed_paths(repo)
    if paths != [target.name]:
        raise GrowthError(f"adding an environment touched {paths} (allowed: {target.name} alone)")
    return paths


def readme_catalog_line() -> str:
    """The README's example of adding a value: the ``SecretEntry(...)`` line of its "Add a secret" section."""
    found = re.search(r"^SecretEntry\(.*\),$", (ROOT / "README.md").read_text(), re.M)
    if not found:
        raise GrowthError("README.md has no example SecretEntry(...) line")
    return found.group()


def grow_value(repo: Path, bin_dir: Path) -> list[str]:
    """The README's example line added to ``CATALOG`` as its last entry."""
    line = readme_catalog_line()
    env_var = re.match(r'SecretEntry\("([A-Z0-9_]+)"', line).group(1)
    catalog = repo / "infra" / "catalog.py"
    text = catalog.read_text()
    if f'"{env_var}"' in text:
        raise GrowthError(f"{env_var} is in the catalog already: the check would add nothing")
    head, sep, tail = text.partition("\nCATALOG = Catalog(\n    (\n")
    if not sep:
        raise GrowthError("infra/catalog.py has no `CATALOG = Catalog((` block")
    body, close, rest = tail.partition("\n    )\n)")
    catalog.write_text(f"{head}{sep}{body}\n        {line}{close}{rest}")
    paths = changed_paths(repo)
    if paths != ["infra/catalog.py"]:
        raise GrowthError(f"adding a value touched {paths} (allowed: infra/catalog.py alone)")
    return paths


CHECKS: dict[str, Callable[[Path, Path], list[str]]] = {"backend": grow_backend, "environment": grow_environment, "value": grow_value}


def run(name: str) -> None:
    with tempfile.TemporaryDirectory(prefix=f"growth-{name}-", ignore_cleanup_errors=True) as tmp:
        repo = copy_tree(Path(tmp) / "repo")
        bin_dir = make_venv(repo)
        paths = CHECKS[name](repo, bin_dir)
        print(f"growth {name}: {len(paths)} path(s) changed: {', '.join(paths)}; running the suite in the copy", flush=True)
        run_suite(repo, bin_dir)
        print(f"growth {name}: ok", flush=True)


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        print(f"error: no growth check {unknown[0]!r} (allowed: {', '.join(CHECKS)})", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        try:
            run(name)
        except (GrowthError, subprocess.TimeoutExpired) as err:
            print(f"growth {name}: FAILED: {err}", file=sys.stderr, flush=True)
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

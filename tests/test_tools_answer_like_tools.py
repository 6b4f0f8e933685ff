"""Every command answers like a tool: for any argument list, a usage error, one line on stderr, or a
result, never a traceback. Generated command lines over plan, diff, rotation-report, check-values,
preflight, verify, force-sync, operator and the CI matrix, run in-process with no cloud, no kubectl
and no credentials (so every backend call fails, as on a laptop without a login)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stacktools import checkvalues, matrix, operator, ops, plan, preflight, rotation
from tests.support import PLANS, ROOT, STACKS

TOOLS = {
    "plan": (plan.main, [], ["--stack", "--config-file", "--out", "--diff", "--print-kube-context"]),
    "rotation-report": (rotation.main, [], ["--stack", "--config-file", "--now", "--stamp-metadata", "--deadline"]),
    "check-values": (checkvalues.main, [], ["--stack", "--config-file", "--deadline"]),
    "preflight": (preflight.main, [], ["--stack", "--config-file", "--new-values", "--deadline"]),
    "verify": (ops.main, ["verify"], ["--stack", "--config-file", "--deadline", "--backend"]),
    "force-sync": (ops.main, ["force-sync"], ["--stack", "--config-file", "--restart", "--deadline"]),
    "operator": (operator.main, [], ["--out", "--repo", "--branch", "--state", "--secrets-provider", "--namespace", "--flux-source"]),
    "matrix": (matrix.main, [], ["--stack", "--drift-hour"]),
}
EXAMPLE_FILES = [str(path) for _, path in PLANS.values() if path]
VALUES = st.one_of(
    st.sampled_from([*STACKS, "nope", "", "-", "--", "../etc", "Pulumi.staging.yaml", "2027-01-04T00:00:00Z", "not-a-time", "25",
                     "-1", "s3://b", "awskms://k", "/dev/null", "/", "README.md", "\u00e9t\u00e9", "x" * 300, "a\x00b", *EXAMPLE_FILES]),
    st.text(max_size=20),
)


# Command lines that printed a traceback once: each tool runs them first, every time.
KNOWN = {
    "rotation-report": [["--stack", STACKS[0], "--now", "not-a-time"], ["--stack", STACKS[0]], ["--stack", STACKS[0], "--now", "0001-01-01T00:00:00"]],
    "check-values": [["--stack", STACKS[0]], ["--stack", "nope"], ["--stack", STACKS[0], "--deadline", "nan"], ["--stack", STACKS[0], "--deadline", "-1"]],
    "preflight": [["--stack", STACKS[0], "--new-values", "/nonexistent/values.yaml"]],
    "plan": [["--stack", "nope"], ["--config-file", "a\x00b"], ["--stack", STACKS[0], "--diff", "/dev/null"]],
    "verify": [["--stack", STACKS[0]], ["--stack", STACKS[0], "--backend"], ["--stack", STACKS[0], "--deadline", "inf"]],
    "force-sync": [["--stack", STACKS[0], "--restart", "deployment/x"]],
    "operator": [["--out", "o", "--state", "s3://b"]],
    "matrix": [["--drift-hour", "25"]],
}


def _command(flags: list[str]) -> st.SearchStrategy[list[str]]:
    pair = st.tuples(st.sampled_from([*flags, "--bogus", "-h"]), VALUES).map(list)
    single = st.sampled_from(flags).map(lambda f: [f])
    return st.lists(st.one_of(pair, single, VALUES.map(lambda v: [v])), max_size=4).map(lambda parts: [a for p in parts for a in p])


@pytest.fixture
def no_cloud(tmp_path, monkeypatch):
    """No credentials, no metadata servers, no kubectl, and a working directory of its own for --out."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "VAULT_", "GOOGLE_", "KUBECONFIG", "CLOUDSDK_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:1")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    return tmp_path


@pytest.mark.parametrize("tool", list(TOOLS))
def test_no_command_line_makes_a_tool_print_a_traceback(tool, no_cloud):
    main, fixed, flags = TOOLS[tool]

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], derandomize=True)
    @given(_command(flags))
    def run(argv):
        _check(main, fixed, argv, no_cloud)

    for argv in KNOWN[tool]:
        run = example(argv)(run)
    run()


def _check(main, fixed, argv, no_cloud) -> None:
    """An exit status of 0, 1 or 2; a 2 without usage is one line; never a traceback (an exception fails the test)."""
    # Anything written goes under the test's own directory.
    argv = [str(no_cloud / "out" / a.strip("/")) if i and argv[i - 1] in ("--out",) else a for i, a in enumerate(argv)]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([*fixed, *argv])
        except SystemExit as done:  # argparse: usage error (2) or --help (0)
            code = done.code
    assert code in (0, 1, 2), (argv, code)
    assert "Traceback" not in err.getvalue()
    if code == 2 and "usage:" not in err.getvalue():
        assert len(err.getvalue().strip().splitlines()) == 1, (argv, err.getvalue())


def test_a_reader_that_goes_away_is_not_a_traceback():
    # `... | head -1` after head has exited: every write meets a closed pipe. The plan's entry point,
    # on its quickest path (no render), goes through the same wrapper as every other command.
    plan_run = subprocess.Popen(
        [sys.executable, "-m", "stacktools.plan", "--stack", STACKS[0], "--print-kube-context"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    plan_run.stdout.close()
    _, err = plan_run.communicate(timeout=120)
    assert plan_run.returncode == 0 and b"Traceback" not in err, err.decode()

"""Hostile stack configs: every invalid one exits 2 with one line naming the key, declares nothing."""

from __future__ import annotations

import contextlib
import io
import string
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra import plan as plan_mod
from tests.conftest import ROOT
from tests.test_config import BAD

P = "aragora-secrets"
BASE: dict = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())["config"]
DECLARED = sorted(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"])
REQUIRED_HERE = ["environment", "kubeContext", "awsRegion", "awsAccountId", "awsOidcProviderArn"]

registered: list[str] = []
_original_register = plan_mod.RecordingMonitor.RegisterResource


def _counting_register(self, request):
    if request.type != "pulumi:pulumi:Stack":
        registered.append(request.type)
    return _original_register(self, request)


plan_mod.RecordingMonitor.RegisterResource = _counting_register


def run_plan(config: dict) -> tuple[int, str, list[str]]:
    """``(exit status, stderr, resources declared)`` of the plan command for ``config``."""
    registered.clear()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "stack.yaml"
        path.write_text(yaml.safe_dump({"config": config}, allow_unicode=True))
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            status = plan_mod.main(["--stack", "staging", "--config-file", str(path)])
    return status, err.getvalue(), list(registered)


def assert_rejected(config: dict, key: str | None = None) -> None:
    status, err, declared = run_plan(config)
    assert status == 2, (config, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert declared == [], declared
    if key is not None:
        assert lines[0].startswith(f"error: {P}:{key}:"), lines[0]
    else:
        assert lines[0].startswith("error: "), lines[0]


@pytest.mark.parametrize(("changes", "key"), [c[1:3] for c in BAD], ids=[c[0] for c in BAD])
def test_named_bad_config_exits_2_through_the_plan_command(changes, key):
    config = dict(BASE)
    for k, v in changes.items():
        if v is None:
            config.pop(f"{P}:{k}", None)
        else:
            config[f"{P}:{k}"] = v
    assert_rejected(config, key)


def test_the_valid_base_config_declares_resources():
    status, err, declared = run_plan(dict(BASE))
    assert status == 0, err
    assert "kubernetes:helm.sh/v3:Release" in declared


# --- generated -------------------------------------------------------------------------

junk_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.printable, min_size=2000, max_size=5000),
    st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x2FFF), min_size=1, max_size=30),
)
junk_value = st.one_of(
    junk_text,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=10), max_size=4),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
)

# Values invalid for a key whatever else the config says.
INVALID = {
    "environment": st.sampled_from(["prod", "dev", "Staging", "", "staging\n"]),
    "backend": st.text(min_size=1, max_size=20).filter(lambda s: s not in ("aws", "vault", "gcp")),
    "refreshInterval": st.one_of(st.sampled_from(["59s", "25h", "1d", "1 h", "-5m", "0s"]), st.integers(0, 10**6).map(str)),
    "awsAccountId": st.from_regex(r"\A(\d{1,11}|\d{13,20}|[a-z]{12})\Z"),
    "awsRegion": st.from_regex(r"\A[A-Z]{2}-[a-z]+-\d\Z|\A[a-z]+\Z"),
    "awsOidcProviderArn": st.sampled_from([
        "arn:aws:iam::111122223333:role/x",
        "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
        "arn:aws:iam::111122223333:oidc-provider/https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
    ]),
    "esoChartVersion": st.sampled_from(["latest", "~2.9", "2.9", "v2.9.0", "0.17.0", "1.0.0", ""]),
    "esoReplicas": st.one_of(st.integers(-5, 0).map(str), st.integers(6, 10**9).map(str), st.just("two")),
    "awsRecoveryWindowDays": st.one_of(st.integers(-10, 6).map(str), st.integers(31, 10**6).map(str)),
    "jwtRotation": st.sampled_from(["Not A Label", "UPPER", "-leading", "x" * 70, "a/b"]),
    "bootstrap": st.sampled_from(["maybe", "2", "yes please"]),
    "awsIdentity": st.sampled_from(["keys", "IRSA", "static"]),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(sorted(INVALID)), data=st.data())
def test_an_invalid_value_is_rejected_naming_its_key(key, data):
    config = {**BASE, f"{P}:{key}": data.draw(INVALID[key])}
    assert_rejected(config, key)


@settings(max_examples=25, deadline=None)
@given(key=st.sampled_from(REQUIRED_HERE))
def test_a_missing_required_key_is_rejected_naming_it(key):
    config = {k: v for k, v in BASE.items() if k != f"{P}:{key}"}
    assert_rejected(config, key)


@settings(max_examples=40, deadline=None)
@given(key=st.text(min_size=1, max_size=30).filter(lambda k: k not in DECLARED and ":" not in k), value=junk_value)
def test_an_unknown_key_is_rejected(key, value):
    status, err, declared = run_plan({**BASE, f"{P}:{key}": value})
    assert status == 2 and declared == [] and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "unknown key" in err


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(DECLARED), value=junk_value)
def test_any_value_for_any_key_renders_or_fails_in_one_line(key, value):
    status, err, declared = run_plan({**BASE, f"{P}:{key}": value})
    assert "Traceback" not in err
    if status == 0:
        assert declared
    else:
        assert status == 2, err
        assert declared == []
        (line,) = err.strip().splitlines()
        assert line.startswith(f"error: {P}:"), line


@settings(max_examples=20, deadline=None)
@given(document=st.one_of(junk_value, st.lists(junk_value, max_size=3)))
def test_a_stack_file_that_is_not_a_config_mapping_exits_2(document):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "stack.yaml"
        path.write_text(yaml.safe_dump({"config": document} if not isinstance(document, dict) else document))
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = plan_mod.main(["--stack", "staging", "--config-file", str(path)])
    assert status == 2 and "Traceback" not in err.getvalue()

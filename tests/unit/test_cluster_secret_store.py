"""ClusterSecretStore built alone: the provider block passed in, verbatim, and the Ready wait."""

from __future__ import annotations

import pulumi

from infra.components.cluster_secret_store import ClusterSecretStore, ClusterSecretStoreArgs
from stacktools.recorder import declare


def test_store_carries_the_given_provider_block_and_waits_for_ready():
    provider = {"fake": {"region": "nowhere", "auth": {"x": ["y"]}}}
    plan = declare(lambda: ClusterSecretStore("s", ClusterSecretStoreArgs(store_name="my-store", provider=provider)))
    store = plan.one("kubernetes:external-secrets.io/v1:ClusterSecretStore")
    assert store["name"] == "s-store"
    assert store["inputs"]["apiVersion"] == "external-secrets.io/v1" and store["inputs"]["kind"] == "ClusterSecretStore"
    assert store["inputs"]["metadata"]["name"] == "my-store"
    assert store["inputs"]["spec"] == {"provider": provider}
    assert store["inputs"]["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    assert store["parent"] == plan.one("aragora:eso:ClusterSecretStore")["urn"]


def test_store_waits_for_every_resource_it_is_told_to():
    def program():
        grant = pulumi.CustomResource("test:index:Grant", "grant")
        ClusterSecretStore("s", ClusterSecretStoreArgs(store_name="st", provider={}, depends_on=[grant]))

    plan = declare(program)
    grant = plan.one("test:index:Grant")
    assert plan.one("kubernetes:external-secrets.io/v1:ClusterSecretStore")["depends_on"] == [grant["urn"]]

"""ClusterSecretStore built alone: the provider block passed in, verbatim, and the Ready wait."""

from __future__ import annotations

import pulumi

from components.cluster_secret_store import ClusterSecretStore, ClusterSecretStoreArgs
from components.eso_api import API_VERSION, CLUSTER_SECRET_STORE_TYPE
from tests.unit.harness import declare


def test_store_carries_the_given_provider_block_and_waits_for_ready():
    provider = {"fake": {"region": "nowhere", "auth": {"x": ["y"]}}}
    plan = declare(lambda: ClusterSecretStore("s", ClusterSecretStoreArgs(store_name="my-store", provider=provider, namespaces=["ns-a", "ns-b"], labels={"l": "v"})))
    store = plan.one(CLUSTER_SECRET_STORE_TYPE)
    assert store["name"] == "s-store"
    assert store["inputs"]["apiVersion"] == API_VERSION and store["inputs"]["kind"] == "ClusterSecretStore"
    assert store["inputs"]["metadata"]["name"] == "my-store" and store["inputs"]["metadata"]["labels"] == {"l": "v"}
    assert store["inputs"]["spec"] == {"provider": provider, "conditions": [{"namespaces": ["ns-a", "ns-b"]}]}
    assert store["inputs"]["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    assert store["parent"] == plan.one("aragora:eso:ClusterSecretStore")["urn"]


def test_store_waits_for_every_resource_it_is_told_to():
    def program():
        grant = pulumi.CustomResource("test:index:Grant", "grant")
        ClusterSecretStore(
            "s", ClusterSecretStoreArgs(store_name="st", provider={}, namespaces=["ns"]), opts=pulumi.ResourceOptions(depends_on=[grant])
        )

    plan = declare(program)
    grant = plan.one("test:index:Grant")
    assert plan.one(CLUSTER_SECRET_STORE_TYPE)["depends_on"] == [grant["urn"]]


def test_a_store_with_no_namespace_is_refused_before_anything_is_declared():
    import pytest

    with pytest.raises(ValueError, match="at least one namespace"):
        declare(lambda: ClusterSecretStore("s", ClusterSecretStoreArgs(store_name="st", provider={}, namespaces=[])))

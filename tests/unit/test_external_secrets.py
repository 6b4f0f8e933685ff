"""AppExternalSecrets built alone: one ExternalSecret per spec, exactly as specified."""

from __future__ import annotations

from components.eso_api import EXTERNAL_SECRET_TYPE
from components.external_secrets import (
    AppExternalSecrets,
    AppExternalSecretsArgs,
    ExternalSecretSpec,
    RefreshPolicy,
    SecretValueRef,
)
from tests.unit.harness import declare

SPECS = [
    ExternalSecretSpec("periodic", [SecretValueRef("A", "remote/a", "p"), SecretValueRef("B", "remote/b")]),
    ExternalSecretSpec(
        "on-change", [SecretValueRef("C", "remote/c")], RefreshPolicy.ON_CHANGE, await_ready=False, annotations={"m": "1"}
    ),
]


def _plan():
    return declare(
        lambda: AppExternalSecrets(
            "app", AppExternalSecretsArgs(namespace="ns1", store_name="st", refresh_interval="7m", secrets=SPECS, labels={"l": "v"})
        )
    )


def test_each_spec_becomes_one_external_secret_with_its_refs_and_policy():
    by_name = {r["inputs"]["metadata"]["name"]: r["inputs"] for r in _plan().of_type(EXTERNAL_SECRET_TYPE)}
    assert set(by_name) == {"periodic", "on-change"}
    periodic = by_name["periodic"]["spec"]
    assert periodic["data"] == [
        {"secretKey": "A", "remoteRef": {"key": "remote/a", "property": "p"}},
        {"secretKey": "B", "remoteRef": {"key": "remote/b"}},
    ]
    assert (periodic["refreshInterval"], periodic["refreshPolicy"]) == ("7m", "Periodic")
    assert periodic["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "st"}
    assert periodic["target"]["name"] == "periodic" and "template" not in periodic["target"]
    assert by_name["on-change"]["spec"]["refreshPolicy"] == "OnChange"
    assert {n: es["metadata"]["labels"] for n, es in by_name.items()} == {"periodic": {"l": "v"}, "on-change": {"l": "v"}}


def test_annotations_reach_the_object_and_the_target_secret_and_optional_ones_skip_the_wait():
    es = {r["inputs"]["metadata"]["name"]: r["inputs"] for r in _plan().of_type(EXTERNAL_SECRET_TYPE)}
    on_change = es["on-change"]
    assert on_change["metadata"]["annotations"] == {"m": "1", "pulumi.com/skipAwait": "true"}
    assert on_change["spec"]["target"]["template"]["metadata"]["annotations"] == {"m": "1"}
    assert es["periodic"]["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"


def test_the_namespace_is_declared_and_retained_on_delete():
    ns = _plan().one("kubernetes:core/v1:Namespace")
    assert ns["inputs"]["metadata"]["name"] == "ns1" and ns["retain_on_delete"] is True

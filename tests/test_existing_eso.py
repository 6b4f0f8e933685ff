"""esoInstall: external: the stack adopts an ESO the platform installed, for every backend.

No release, namespace or CRDs of ESO's; the cloud identity is bound to the
installed controller's service account (a server-side-apply patch of its
annotations only) wherever the managed stack binds the chart's; the store,
the ExternalSecrets and the alerts keep their URNs, so moving between the
modes never re-creates them.
"""

from __future__ import annotations

import json

import pytest

from components.eso_api import CLUSTER_SECRET_STORE_TYPE, EXTERNAL_SECRET_TYPE
from infra.config import ESO_DEFAULT_SERVICE_ACCOUNT
from infra.fields import ConfigError
from tests.support import PLANS, clusters_of, one_through, render_named, through

INSTALLED = ("eso-addon", "eso-controller")
EXTERNAL = {"esoInstall": "external", "esoServiceAccount": "/".join(INSTALLED), "prometheusOperator": True}
ESO_TYPES = ("aragora:eso:ExternalSecretsOperator", "aragora:eso:ExistingExternalSecretsOperator")


def _pair(name: str):
    return render_named(name, prometheusOperator=True), render_named(name, **EXTERNAL)


def _subject(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def _outside_eso(plan) -> list[dict]:
    return [r for r in plan.resources if not any(t in r["urn"] for t in ESO_TYPES)]


@pytest.mark.parametrize("name", list(PLANS))
def test_no_eso_release_namespace_or_crds_are_declared_but_the_store_and_external_secrets_are(name):
    _, external = _pair(name)
    assert external.of_type("kubernetes:helm.sh/v3:Release") == []
    namespaces = [r["inputs"]["metadata"]["name"] for r in external.of_type("kubernetes:core/v1:Namespace")]
    assert INSTALLED[0] not in namespaces and ESO_DEFAULT_SERVICE_ACCOUNT.split("/")[0] not in namespaces
    assert external.of_type(CLUSTER_SECRET_STORE_TYPE)
    assert external.of_type(EXTERNAL_SECRET_TYPE)
    assert external.outputs["esoNamespace"] == INSTALLED[0]


@pytest.mark.parametrize("name", list(PLANS))
def test_the_identity_is_bound_to_the_installed_service_account_wherever_managed_binds_the_charts(name):
    managed, external = _pair(name)
    default = ESO_DEFAULT_SERVICE_ACCOUNT.split("/")
    managed_text = json.dumps([r["inputs"] for r in _outside_eso(managed)])
    external_text = json.dumps([r["inputs"] for r in _outside_eso(external)])
    # Every reference to the chart's account (trust subjects, store refs, Vault roles, IAM members) moves, and none stays.
    assert _subject(*default) not in external_text
    assert external_text.count(_subject(*INSTALLED)) == managed_text.count(_subject(*default))
    managed_refs, external_refs = _account_refs([r["inputs"] for r in _outside_eso(managed)]), _account_refs([r["inputs"] for r in _outside_eso(external)])
    assert len(external_refs) == len(managed_refs) and all(ref == {"namespace": INSTALLED[0], "name": INSTALLED[1]} for ref in external_refs)
    assert managed_text.count(_subject(*default)) + len(managed_refs) > 0  # the check above is not vacuous


def _account_refs(node) -> list[dict]:
    """Every way a resource names a service account: the store's ``serviceAccountRef``, RBAC subjects,
    a Vault role's bound names and namespaces, a Workload Identity member ``...[ns/name]``."""
    found = []
    if isinstance(node, dict):
        if node.get("kind") == "ServiceAccount" and "namespace" in node and "name" in node:
            found.append({"namespace": node["namespace"], "name": node["name"]})
        if "boundServiceAccountNames" in node:
            found += [{"namespace": ns, "name": n} for ns in node["boundServiceAccountNamespaces"] for n in node["boundServiceAccountNames"]]
        member = node.get("member")
        if isinstance(member, str) and member.endswith("]") and "[" in member:
            ns, _, n = member[member.index("[") + 1 : -1].partition("/")
            found.append({"namespace": ns, "name": n})
        for key, value in node.items():
            if key == "serviceAccountRef" and isinstance(value, dict):
                found.append({"namespace": value.get("namespace"), "name": value.get("name")})
            else:
                found += _account_refs(value)
    elif isinstance(node, list):
        for value in node:
            found += _account_refs(value)
    return found


@pytest.mark.parametrize("name", list(PLANS))
def test_each_clusters_patch_carries_exactly_the_annotations_its_chart_would_have_set(name):
    managed, external = _pair(name)
    clusters = clusters_of(external)
    assert clusters.keys() == clusters_of(managed).keys()
    for cluster, keys in clusters.items():
        wanted = one_through(managed, clusters_of(managed)[cluster], "kubernetes:helm.sh/v3:Release")["inputs"]["values"]["serviceAccount"]["annotations"]
        patches = through(external, keys, "kubernetes:core/v1:ServiceAccountPatch")
        if not wanted:
            assert patches == [], cluster
            continue
        (patch,) = patches
        meta = patch["inputs"]["metadata"]
        assert (meta["namespace"], meta["name"]) == INSTALLED
        assert meta["annotations"] == wanted and set(meta) == {"name", "namespace", "annotations"}
        assert "pulumi.com/patchForce" not in meta["annotations"]  # never takes a field from another manager
        # That cluster's store waits for that cluster's patch.
        store = one_through(external, keys, CLUSTER_SECRET_STORE_TYPE)
        assert patch["urn"] in store["depends_on"], cluster
    # No patch outside the stack's clusters.
    assert len(external.of_type("kubernetes:core/v1:ServiceAccountPatch")) == sum(
        len(through(external, keys, "kubernetes:core/v1:ServiceAccountPatch")) for keys in clusters.values()
    )


@pytest.mark.parametrize("name", list(PLANS))
def test_store_external_secrets_and_alerts_keep_their_urns_across_the_modes(name):
    managed, external = _pair(name)
    assert {r["urn"] for r in _outside_eso(managed)} == {r["urn"] for r in _outside_eso(external)}
    # Each cluster keeps its alerts, in the namespace of its installed ESO.
    for cluster, keys in clusters_of(external).items():
        rule = one_through(external, keys, "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        assert rule["inputs"]["metadata"]["namespace"] == INSTALLED[0], cluster


def test_another_service_account_with_the_managed_chart_is_refused_naming_the_key():
    name = next(iter(PLANS))
    with pytest.raises(ConfigError, match=r"^aragora-secrets:esoServiceAccount: .* esoInstall managed"):
        render_named(name, esoServiceAccount="/".join(INSTALLED))


@pytest.mark.parametrize("value", ["external-secrets", "a/b/c", "UPPER/x", "/x", "x/", "ns/-bad"])
def test_a_malformed_service_account_is_refused_naming_the_key(value):
    name = next(iter(PLANS))
    with pytest.raises(ConfigError, match=r"^aragora-secrets:esoServiceAccount: "):
        render_named(name, esoInstall="external", esoServiceAccount=value)

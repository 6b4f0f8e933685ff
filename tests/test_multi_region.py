"""Many clusters and regions per environment (``clusters``, infra/clusters.py).

Expectations come from the stack files: the example's clusters, regions and
issuers are read from its YAML, and every variation is a YAML stack file
written the way a user would write it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.eso_api import CLUSTER_SECRET_STORE_TYPE, EXTERNAL_SECRET_TYPE
from infra import stackfiles
from infra.catalog import CATALOG
from infra.config import check_separation, from_stack_file
from infra.fields import ConfigError
from stacktools import plan as plan_cmd
from stacktools import plandiff
from tests.iam_eval import ALLOW, Request, evaluate, kms
from tests.support import MULTI_CLUSTER, render, run_main
from tests.test_authority import cluster_ca

EXAMPLE = MULTI_CLUSTER["multi-region-production"]
STORE = CLUSTER_SECRET_STORE_TYPE
EXTERNAL_SECRET = EXTERNAL_SECRET_TYPE
RELEASE = "kubernetes:helm.sh/v3:Release"
KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
P = "aragora-secrets:"


def _config(path: Path) -> dict:
    return yaml.safe_load(path.read_text())["config"]


def _clusters(path: Path = EXAMPLE) -> dict[str, dict]:
    """Each cluster's effective keys, as the stack file spells them: its own over the top level."""
    config = _config(path)
    top = {k.removeprefix(P): v for k, v in config.items() if k.startswith(P) and k != f"{P}clusters"}
    out = {}
    for name, entry in config[f"{P}clusters"].items():
        keys = {**top, **(entry or {})}
        keys.setdefault("awsReadRegion", keys["awsRegion"])
        out[name] = keys
    return out


def _write(tmp_path: Path, config: dict, stack: str = "production") -> Path:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


def _provider_of(plan, context: str) -> str:
    (provider,) = [r for r in plan.of_type("pulumi:providers:kubernetes") if r["inputs"]["context"] == context]
    return provider["urn"]


def _through(plan, provider_urn: str, type_: str) -> list[dict]:
    return [r for r in plan.of_type(type_) if r["provider"].rsplit("::", 1)[0] == provider_urn]


def _region(plan, resource: dict) -> str:
    providers = {r["urn"]: r for r in plan.of_type("pulumi:providers:aws")}
    return providers[resource["provider"].rsplit("::", 1)[0]]["inputs"]["region"]


def test_each_cluster_has_its_own_eso_and_store_reading_its_own_region():
    plan = render(*plan_args())
    clusters = _clusters()
    assert len(clusters) >= 2
    for name, keys in clusters.items():
        provider = _provider_of(plan, keys["kubeContext"])
        (release,) = _through(plan, provider, RELEASE)
        (store,) = _through(plan, provider, STORE)
        assert store["inputs"]["spec"]["provider"]["aws"]["region"] == keys["awsReadRegion"] == keys["awsRegion"], name
        # The store waits for its own cluster's ESO and for every grant.
        assert release["urn"] in store["depends_on"]
        grants = [r["urn"] for r in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
        assert grants and set(grants) <= set(store["depends_on"])
        # Its ExternalSecrets wait for its own ESO (CRDs and webhook) too, and keep their Secrets (Orphan, Retain).
        for es in _through(plan, provider, EXTERNAL_SECRET):
            assert release["urn"] in es["depends_on"]
            assert es["inputs"]["spec"]["target"]["creationPolicy"] == "Orphan"
        # Every catalog value synced exactly once per cluster, through that cluster's store.
        refs = [(d["secretKey"]) for es in _through(plan, provider, EXTERNAL_SECRET) for d in es["inputs"]["spec"]["data"]]
        assert len(refs) == len(set(refs)) and set(refs) == {e.env_var for e in CATALOG}
        assert {es["inputs"]["spec"]["secretStoreRef"]["name"] for es in _through(plan, provider, EXTERNAL_SECRET)} == {store["inputs"]["metadata"]["name"]}
    # Every Kubernetes object goes through the provider of one of the clusters, none through a default one.
    providers = {_provider_of(plan, keys["kubeContext"]) for keys in clusters.values()}
    assert all(r["provider"].rsplit("::", 1)[0] in providers for r in plan.k8s_objects())


def plan_args() -> tuple[str, Path]:
    return stackfiles.stack_of(EXAMPLE) or "", EXAMPLE


def test_every_secret_is_replicated_to_every_other_cluster_region_under_a_protected_key_of_that_region():
    plan = render(*plan_args())
    config = _config(EXAMPLE)
    primary = config[f"{P}awsRegion"]
    others = sorted({k["awsRegion"] for k in _clusters().values()} - {primary})
    assert others
    keys = {_region(plan, k): k for k in plan.of_type(KEY)}
    assert sorted(keys) == sorted([primary, *others])
    arns = {primary: plan.outputs["awsKmsKeyArn"], **plan.outputs["awsReplicaKmsKeyArns"]}
    for region, key in keys.items():
        assert key["protect"] and key["inputs"]["enableKeyRotation"] and not key["inputs"].get("multiRegion")
        assert arns[region].split(":")[3] == region
        policy = json.loads(key["inputs"]["policy"])
        # Decrypt only through Secrets Manager in that key's own region.
        (use,) = [s for s in policy["Statement"] if "kms:Decrypt" in s["Action"] and s["Effect"] == "Allow"]
        assert use["Condition"]["StringEquals"]["kms:ViaService"] == f"secretsmanager.{region}.amazonaws.com"
    for secret in plan.of_type(SECRET):
        assert _region(plan, secret) == primary and secret["protect"]
        assert secret["inputs"]["kmsKeyId"] == arns[primary]
        assert {r["region"]: r["kmsKeyId"] for r in secret["inputs"]["replicas"]} == {r: arns[r] for r in others}
        # A secret of the same name already in a replica region is never overwritten: the update fails instead.
        assert secret["inputs"]["forceOverwriteReplicaSecret"] is False
    # Rotation and AWS Config stay with the primary region (Secrets Manager copies a rotated value to the replicas).
    account = config[f"{P}awsAccountId"]
    rotated = render(
        *plan_args(), awsConfigRules=True, awsRotationLambdaArns=[f"database=arn:aws:lambda:{primary}:{account}:function:rotate-db"]
    )
    for type_ in ("aws:secretsmanager/secretRotation:SecretRotation", "aws:cfg/rule:Rule"):
        assert rotated.of_type(type_) and all(_region(rotated, r) == primary for r in rotated.of_type(type_)), type_


def _web_identity(issuer: str, arn: str, sub: str, aud: str = "sts.amazonaws.com") -> Request:
    return Request("sts:AssumeRoleWithWebIdentity", "*", {"Federated": arn}, {f"{issuer}:sub": sub, f"{issuer}:aud": aud})


def test_the_eso_role_trusts_exactly_the_environments_clusters():
    plan = render(*plan_args())
    trust = plan.one("aws:iam/role:Role")["inputs"]["assumeRolePolicy"]
    arns = {keys["awsOidcProviderArn"] for keys in _clusters().values()}
    assert len(arns) >= 2
    eso = "system:serviceaccount:external-secrets:external-secrets"
    for arn in arns:
        issuer = arn.split(":oidc-provider/", 1)[1]
        assert evaluate(trust, _web_identity(issuer, arn, eso)) == ALLOW
        assert evaluate(trust, _web_identity(issuer, arn, "system:serviceaccount:aragora:default")) != ALLOW
        assert evaluate(trust, _web_identity(issuer, arn, eso, aud="vault")) != ALLOW
    # Another environment's cluster (the project's staging) is trusted by no statement.
    staging = stackfiles.stack_config("staging")[f"{P}awsOidcProviderArn"]
    assert evaluate(trust, _web_identity(staging.split(":oidc-provider/", 1)[1], staging, eso)) != ALLOW


def test_the_read_policy_covers_the_same_names_in_the_environments_regions_only():
    plan = render(*plan_args())
    identity = plan.one("aws:iam/policy:Policy")["inputs"]["policy"]
    role, account = plan.outputs["awsRoleArn"], _config(EXAMPLE)[f"{P}awsAccountId"]
    regions = {k["awsRegion"] for k in _clusters().values()}
    arns = {plan.outputs["awsKmsKeyArn"].split(":")[3]: plan.outputs["awsKmsKeyArn"], **plan.outputs["awsReplicaKmsKeyArns"]}
    keys = {_region(plan, k): k["inputs"]["policy"] for k in plan.of_type(KEY)}
    for region in sorted(regions | {"eu-west-1"}):
        arn = f"arn:aws:secretsmanager:{region}:{account}:secret:aragora/production/database-AbCdEf"
        for action in ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DeleteSecret"):
            allowed = evaluate(identity, Request(action, arn, {"AWS": role}, {}))
            assert (allowed == ALLOW) == (region in regions and action == "secretsmanager:GetSecretValue"), (region, action)
        other = arn.replace("aragora/production/", "aragora/staging/")
        assert evaluate(identity, Request("secretsmanager:GetSecretValue", other, {"AWS": role}, {})) != ALLOW
    for region, key_arn in arns.items():
        for via in regions | {"eu-west-1"}:
            context = {"kms:ViaService": f"secretsmanager.{via}.amazonaws.com", "kms:CallerAccount": account}
            result = kms(keys[region], identity, Request("kms:Decrypt", key_arn, {"AWS": role}, context))
            assert (result == ALLOW) == (via == region), (region, via)


def _switch(source: Path, tmp_path: Path, cluster: str, region: str) -> Path:
    """``source`` with one line changed: ``cluster``'s awsReadRegion set to ``region``."""
    lines = source.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{cluster}:")
    at = next(i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("awsReadRegion:"))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    out = tmp_path / source.name
    out.write_text("".join([*lines[:at], f"{indent}awsReadRegion: {region}\n", *lines[at + 1 :]]))
    return out


@pytest.fixture(scope="module")
def example_out(tmp_path_factory) -> Path:
    """``make plan``'s --out of the example, the base a switch is compared with."""
    out = tmp_path_factory.mktemp("example") / "base"
    assert run_main(plan_cmd.main, ["--config-file", str(EXAMPLE), "--out", str(out)]).returncode == 0
    return out


@pytest.mark.parametrize("which", [0, 1], ids=["home-cluster", "other-cluster"])
def test_switching_one_clusters_read_region_diffs_as_that_stores_update_only(tmp_path, example_out, which):
    clusters = _clusters()
    name = list(clusters)[which]
    target = next(k["awsRegion"] for n, k in clusters.items() if n != name)
    switched = _switch(EXAMPLE, tmp_path, name, target)
    result = run_main(plan_cmd.main, ["--config-file", str(switched), "--diff", str(example_out), "--out", str(tmp_path / "head")])
    assert result.returncode == 1, result.stderr
    changed = [line for line in result.stdout.splitlines() if line[:2] in ("+ ", "- ", "~ ", "+-")]
    assert len(changed) == 1 and changed[0].startswith(f"~ {STORE} "), result.stdout
    assert "0 to create, 1 to update, 0 to replace, 0 to delete" in result.stdout
    head = json.loads((tmp_path / "head" / "resources.json").read_text())
    (provider,) = [r["urn"] for r in head if r["type"] == "pulumi:providers:kubernetes" and r["inputs"]["context"] == clusters[name]["kubeContext"]]
    (store,) = [r for r in head if r["type"] == STORE and r["provider"].rsplit("::", 1)[0] == provider]
    assert store["inputs"]["spec"]["provider"]["aws"]["region"] == target


def _root(stack: str) -> dict:
    return _config(stackfiles.stack_file(stack))


def test_a_stack_moved_to_clusters_with_its_cluster_first_keeps_every_urn_and_input(tmp_path):
    base = render("production")
    config = {**_root("production"), f"{P}clusters": {"home": {}}}
    moved = render("production", _write(tmp_path, config))
    assert moved.resources == base.resources


def test_adding_a_second_region_replaces_and_deletes_nothing_and_leaves_the_existing_key_untouched(tmp_path):
    base = render("production")
    config = _root("production")
    account = config[f"{P}awsAccountId"]
    west = {
        "kubeContext": "aragora-production-west",
        "awsRegion": "us-west-2",
        "awsOidcProviderArn": f"arn:aws:iam::{account}:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF",
    }
    head = render("production", _write(tmp_path, {**config, f"{P}clusters": {"home": {}, "west": west}}))
    change = plandiff.diff(base.resources, head.resources)
    assert not change.delete and not any(c.replace for c in change.update)
    assert {c.type for c in change.update} <= {SECRET, "aws:iam/policy:Policy", "aws:iam/role:Role"}
    paths = {p for c in change.update if c.type == SECRET for p, _, _ in c.paths}
    assert "replicas" in paths and paths <= {"replicas", "forceOverwriteReplicaSecret", "[depends_on]"}, paths
    created = {(r["type"], _region(head, r) if r["type"].startswith("aws:") else None) for r in change.create if r["custom"]}
    assert (KEY, "us-west-2") in created and not any(t == KEY and r != "us-west-2" for t, r in created)


def _example_config() -> dict:
    return _config(EXAMPLE)


def _with_cluster(**west: object) -> dict:
    config = _example_config()
    clusters = json.loads(json.dumps(config[f"{P}clusters"]))
    clusters["west"] = {**clusters["west"], **west}
    return {**config, f"{P}clusters": clusters}


WEST_ARN = _example_config()[f"{P}clusters"]["west"]["awsOidcProviderArn"]
CASES = {
    "an environment key in a cluster": (_with_cluster(awsAccountId="111122223333"), "clusters.west.awsAccountId: is not a per-cluster key"),
    "a read region outside the environment": (_with_cluster(awsReadRegion="eu-west-1"), "clusters.west.awsReadRegion: 'eu-west-1' is not a region of this environment"),
    "an issuer of another region": (_with_cluster(awsRegion="eu-west-1"), "clusters.west.awsOidcProviderArn:"),
    "two clusters in one context": (_with_cluster(kubeContext="aragora-production-east"), "clusters.west.kubeContext: 'aragora-production-east' is also cluster east's"),
    "two clusters with one issuer": (
        _with_cluster(awsRegion="us-east-1", awsOidcProviderArn=_example_config()[f"{P}awsOidcProviderArn"], awsReadRegion="us-east-1"),
        "clusters.west.awsOidcProviderArn:",
    ),
    "vpc endpoints of the primary only": (
        {**_example_config(), f"{P}awsVpcEndpoints": "existing", f"{P}awsVpcEndpointIds": ["vpce-0123456789abcdef0"]},
        "clusters.west.awsVpcEndpoints: 'existing' is set with a cluster in us-west-2",
    ),
    "a value out of range": (_with_cluster(esoReplicas="9"), "clusters.west.esoReplicas: '9' is out of range"),
    "a reordered map": (
        {**_example_config(), f"{P}clusters": dict(reversed(list(_example_config()[f"{P}clusters"].items())))},
        "clusters.west.kubeContext: 'aragora-production-west' is not the top-level kubeContext",
    ),
    "a bad key the first cluster spells for the top level": (
        {
            **{k: v for k, v in _example_config().items() if k != f"{P}kubeContext"},
            f"{P}clusters": {"east": {"kubeContext": "bad context"}, "west": _example_config()[f"{P}clusters"]["west"]},
        },
        "clusters.east.kubeContext: 'bad context' is not allowed",
    ),
    "a bad cluster name": ({**_example_config(), f"{P}clusters": {"East_1": {}}}, "clusters: names a cluster 'East_1'"),
    "not a map": ({**_example_config(), f"{P}clusters": ["east", "west"]}, "clusters: '"),
    "the home cluster with another issuer": (
        {**_example_config(), f"{P}clusters": {"east": {"awsOidcProviderArn": WEST_ARN.replace("us-west-2", "us-east-1")}}},
        "clusters.east.awsOidcProviderArn:",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_cluster_is_refused_in_one_line_naming_its_key(tmp_path, case):
    config, expected = CASES[case]
    path = _write(tmp_path, config)
    with pytest.raises(ConfigError) as caught:
        from_stack_file("production", path)
    message = str(caught.value)
    assert message.startswith(f"{P}{expected.split(':', 1)[0]}:") and expected in message, message
    assert "\n" not in message and "(allowed:" in message


def test_a_bad_cluster_exits_2_with_one_line_and_declares_nothing(tmp_path):
    path = _write(tmp_path, CASES["a read region outside the environment"][0])
    result = run_main(plan_cmd.main, ["--config-file", str(path)])
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "clusters.west.awsReadRegion" in result.stderr


def test_every_clusters_authority_is_checked_against_the_neighbour_stacks(tmp_path):
    """Staging's cluster reusing production's second cluster's issuer (or context) is refused both ways."""
    production = _example_config()
    (tmp_path / "Pulumi.production.yaml").write_text(yaml.safe_dump({"config": production}))
    staging = _root("staging")
    account = staging[f"{P}awsAccountId"]
    west = production[f"{P}clusters"]["west"]
    stolen = west["awsOidcProviderArn"].replace(production[f"{P}awsAccountId"], account)
    clusters = {"home": {}, "far": {"kubeContext": "aragora-staging-far", "awsRegion": "us-west-2", "awsOidcProviderArn": stolen}}
    _write(tmp_path, {**staging, f"{P}clusters": clusters}, "staging")
    with pytest.raises(ConfigError, match=r"^aragora-secrets:clusters\.far\.awsOidcProviderArn: .* is also stack production's"):
        check_separation(from_stack_file("staging", tmp_path / "Pulumi.staging.yaml"), tmp_path)
    with pytest.raises(ConfigError, match=r"^aragora-secrets:clusters\.west\.awsOidcProviderArn: .* is also stack staging's"):
        check_separation(from_stack_file("production", tmp_path / "Pulumi.production.yaml"), tmp_path)
    clusters["far"] = {**clusters["far"], "kubeContext": west["kubeContext"], "awsOidcProviderArn": stolen.replace("EXAMPLE7F", "EXAMPLE8F")}
    _write(tmp_path, {**staging, f"{P}clusters": clusters}, "staging")
    with pytest.raises(ConfigError, match=r"^aragora-secrets:clusters\.far\.kubeContext: 'aragora-production-west' is also stack production's"):
        check_separation(from_stack_file("staging", tmp_path / "Pulumi.staging.yaml"), tmp_path)


def _example(backend: str, clusters: dict, tmp_path: Path) -> Path:
    """The shipped ``examples/<backend>`` production stack with ``clusters`` added, home first."""
    config = _config(Path(__file__).resolve().parent.parent / "examples" / backend / "Pulumi.production.yaml")
    return _write(tmp_path, {**config, f"{P}clusters": clusters})


def test_gcp_every_cluster_gets_workload_identity_and_a_store_naming_its_own_location(tmp_path):
    central = {"kubeContext": "aragora-production-central", "gcpClusterLocation": "us-central1-a", "gcpClusterName": "aragora-central",
               "esoInstall": "external", "esoServiceAccount": "platform/eso"}
    path = _example("gcp", {"home": {}, "central": central}, tmp_path)
    config = _config(path)
    plan = render("production", path)
    secrets = plan.of_type("gcp:secretmanager/secret:Secret")
    principals = {}
    for binding in plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember"):
        principals.setdefault(binding["inputs"]["member"], set()).add(binding["inputs"]["secretId"])
    # Direct mode: each cluster's ESO account is a principal of the one pool (the cluster project's), on every secret.
    pool = f"workloadIdentityPools/{config[f'{P}gcpProject']}.svc.id.goog/subject/"
    expected = {f"{pool}ns/external-secrets/sa/external-secrets", f"{pool}ns/platform/sa/eso"}
    assert {m.split("/locations/global/", 1)[1] for m in principals} == expected
    assert all(len(ids) == len(secrets) for ids in principals.values())
    stores = {s["provider"].rsplit("::", 1)[0]: s["inputs"]["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentity"] for s in plan.of_type(STORE)}
    central_store = stores[_provider_of(plan, central["kubeContext"])]
    assert central_store["clusterLocation"] == central["gcpClusterLocation"] and central_store["clusterName"] == central["gcpClusterName"]
    # A cluster outside the user-managed replication is refused (widening it would replace every secret).
    outside = {**central, "gcpClusterLocation": "europe-west4"}
    with pytest.raises(ConfigError, match=r"^aragora-secrets:clusters\.central\.gcpClusterLocation: 'europe-west4' is not among gcpReplicaLocations"):
        from_stack_file("production", _example("gcp", {"home": {}, "central": outside}, tmp_path))


def test_vault_one_auth_mount_per_cluster_each_reviewing_its_own_cluster(tmp_path):
    base = _config(Path(__file__).resolve().parent.parent / "examples" / "vault" / "Pulumi.production.yaml")
    west = {
        "kubeContext": "aragora-production-west",
        "vaultAddress": "https://vault-west.production.example.com:8200",
        "vaultKubernetesHost": "https://west.k8s.example.com:6443",
        # Its own cluster, its own CA: one CA is one cluster (infra.separation).
        "vaultKubernetesCaCert": cluster_ca("aragora-production-west"),
        "vaultAuthMount": "kubernetes-west",
    }
    plan = render("production", _example("vault", {"home": {}, "west": west}, tmp_path))
    configs = {c["inputs"]["kubernetesHost"] for c in plan.of_type("vault:kubernetes/authBackendConfig:AuthBackendConfig")}
    assert configs == {base[f"{P}vaultKubernetesHost"], west["vaultKubernetesHost"]}
    assert {a["inputs"]["path"] for a in plan.of_type("vault:index/authBackend:AuthBackend")} == {base[f"{P}vaultAuthMount"], west["vaultAuthMount"]}
    for context, address, mount in ((base[f"{P}kubeContext"], base[f"{P}vaultAddress"], base[f"{P}vaultAuthMount"]), (west["kubeContext"], west["vaultAddress"], west["vaultAuthMount"])):
        provider = _provider_of(plan, context)
        (store,) = _through(plan, provider, STORE)
        assert store["inputs"]["spec"]["provider"]["vault"]["server"] == address
        assert store["inputs"]["spec"]["provider"]["vault"]["auth"]["kubernetes"]["mountPath"] == mount
        # The reviewer's TokenReview rights are granted in the cluster it reviews.
        assert len(_through(plan, provider, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")) == 1
    # Two clusters reviewed through one auth mount, one API server reviewed twice, or one CA, are one cluster twice.
    for key, value in (
        ("vaultAuthMount", base[f"{P}vaultAuthMount"]),
        ("vaultKubernetesHost", base[f"{P}vaultKubernetesHost"]),
        ("vaultKubernetesCaCert", base[f"{P}vaultKubernetesCaCert"]),
    ):
        same = {**west, "vaultAddress": base[f"{P}vaultAddress"], key: value}
        with pytest.raises(ConfigError, match=rf"^aragora-secrets:clusters\.west\.{key}: .* is also cluster home's"):
            from_stack_file("production", _example("vault", {"home": {}, "west": same}, tmp_path))


def test_cost_json_splits_replica_secret_months_and_keys_by_region_and_calls_by_cluster(example_out):
    cost = json.loads((example_out / "cost.json").read_text())
    plan = render(*plan_args())
    secrets = plan.of_type(SECRET)
    regions = {_region(plan, k) for k in plan.of_type(KEY)}
    assert set(cost["byRegion"]) == regions
    for region in regions:
        # One key in each region; every secret billed once there (the primary or its replica).
        assert cost["byRegion"][region]["kms-key-months"]["quantity"] == 1
        assert cost["byRegion"][region]["secret-months"]["quantity"] == len(secrets)
    assert set(cost["byCluster"]) == {k["kubeContext"] for k in _clusters().values()}
    assert sum(c["providerCallsPerMonth"] for c in cost["byCluster"].values()) == cost["providerCallsPerMonth"]
    # A single-cluster stack's cost.json has neither.
    assert not {"byRegion", "byCluster"} & set(plan_cmd.estimate_of(render("staging")).to_json())


def test_plan_out_writes_each_clusters_manifests_apart(example_out):
    for keys in _clusters().values():
        store = yaml.safe_load((example_out / "manifests" / keys["kubeContext"] / "clustersecretstore-aws-secrets-manager.yaml").read_text())
        assert store["spec"]["provider"]["aws"]["region"] == keys["awsReadRegion"]
        assert (example_out / "manifests" / keys["kubeContext"] / "helm-release-external-secrets.yaml").exists()


def test_the_multi_region_example_passes_every_policy_pack_rule():
    from tests.test_policy_pack import rules, violations

    plan = render(*plan_args())
    for r in plan.resources:
        for rule in rules.RULES:
            assert violations(rule, r) == [], (rule.name, r["urn"])


def test_a_neighbours_cluster_reviewed_by_vault_is_refused_per_cluster(tmp_path):
    root = Path(__file__).resolve().parent.parent / "examples" / "vault"
    production, staging = _config(root / "Pulumi.production.yaml"), _config(root / "Pulumi.staging.yaml")
    west = {
        "kubeContext": "aragora-production-west",
        "vaultKubernetesHost": "https://west.k8s.example.com:6443",
        "vaultKubernetesCaCert": cluster_ca("aragora-production-west"),
        "vaultAuthMount": "kubernetes-west",
    }
    _write(tmp_path, {**production, f"{P}clusters": {"home": {}, "west": west}}, "production")
    # Staging's second cluster is reviewed against production's west API server (spelt differently).
    far = {"kubeContext": "aragora-staging-far", "vaultKubernetesHost": "https://WEST.k8s.example.com.:6443/",
           "vaultKubernetesCaCert": cluster_ca("aragora-staging-far"), "vaultAuthMount": "kubernetes-far"}
    _write(tmp_path, {**staging, f"{P}clusters": {"home": {}, "far": far}}, "staging")
    with pytest.raises(ConfigError, match=r"^aragora-secrets:clusters\.far\.vaultKubernetesHost: .* is also stack production's"):
        check_separation(from_stack_file("staging", tmp_path / "Pulumi.staging.yaml"), tmp_path)


def test_the_first_cluster_may_spell_the_top_level_keys_and_renders_the_same(tmp_path):
    config = _example_config()
    lifted = ("kubeContext", "awsOidcProviderArn")
    east = {**config[f"{P}clusters"]["east"], **{k: config[f"{P}{k}"] for k in lifted}}
    moved = {k: v for k, v in config.items() if k.removeprefix(P) not in lifted}
    moved[f"{P}clusters"] = {"east": east, "west": config[f"{P}clusters"]["west"]}
    assert render("production", _write(tmp_path, moved)).resources == render(*plan_args()).resources


def test_dropping_a_region_never_schedules_its_keys_deletion_the_protection_refuses(tmp_path):
    config = _example_config()
    home = next(iter(config[f"{P}clusters"]))
    single = {**config, f"{P}clusters": {home: config[f"{P}clusters"][home]}}
    base, head = render(*plan_args()), render("production", _write(tmp_path, single))
    change = plandiff.diff(base.resources, head.resources)
    dropped = [r for r in change.delete if r["type"] == KEY]
    assert dropped and all(r["protect"] for r in dropped)
    assert all("protected" in line for line in plandiff.render_text(change).splitlines() if line.startswith(f"- {KEY}"))
    # The primary's key is untouched.
    assert not [c for c in change.update if c.type == KEY]


# --- CI finds every cluster (.github/scripts/kubeconfig.sh reads --print-kube-context) -----------------------

KUBECONFIG_SH = Path(__file__).resolve().parent.parent / ".github" / "scripts" / "kubeconfig.sh"


def test_print_kube_context_prints_every_clusters_context_home_first():
    result = run_main(plan_cmd.main, ["--print-kube-context", "--config-file", str(EXAMPLE)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [c["kubeContext"] for c in _clusters().values()]


def _kubeconfig_sh(tmp_path: Path, contexts: list[str], **env: str):
    """kubeconfig.sh as CI runs it, with aws, gcloud and kubectl (and the stack's context list) recorded."""
    calls = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    bin_dir.mkdir()
    fake_python = tmp_path / ".venv" / "bin" / "python"
    fake_python.write_text("#!/bin/sh\nprintf '%s\\n' " + " ".join(f"'{c}'" for c in contexts) + "\n")
    for tool in ("aws", "gcloud", "kubectl"):
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\necho current\n')
    for f in (fake_python, *bin_dir.iterdir()):
        f.chmod(0o755)
    result = subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(KUBECONFIG_SH)], cwd=tmp_path, capture_output=True, text=True, timeout=30,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "STACK": "production", **env},
    )
    return result, (calls.read_text().splitlines() if calls.exists() else [])


def test_ci_gets_a_context_for_every_cluster_named_by_its_eks_arn_or_gke_name(tmp_path):
    arn = "arn:aws:eks:us-west-2:444455556666:cluster/aragora-west"
    gke = "gke_aragora-prod_europe-west1_aragora-eu"
    result, calls = _kubeconfig_sh(tmp_path, ["aragora-production", arn, gke], EKS_CLUSTER_NAME="aragora-east", AWS_REGION="us-east-1")
    assert result.returncode == 0, result.stderr
    assert calls == [
        "aws eks update-kubeconfig --name aragora-east --region us-east-1 --alias aragora-production",
        f"aws eks update-kubeconfig --name aragora-west --region us-west-2 --alias {arn}",
        "gcloud container clusters get-credentials aragora-eu --location europe-west1 --project aragora-prod",
    ]


def test_ci_refuses_a_further_cluster_whose_context_names_no_cluster(tmp_path):
    result, calls = _kubeconfig_sh(tmp_path, ["aragora-production", "aragora-production-west"], EKS_CLUSTER_NAME="aragora-east", AWS_REGION="us-east-1")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "aragora-production-west" in line and "EKS cluster ARN" in line
    assert len(calls) == 1  # the home cluster only


def test_with_pod_identity_the_role_trusts_each_clusters_own_eks_arn_and_each_cluster_gets_its_association(tmp_path):
    config = _config(EXAMPLE)
    config[f"{P}awsIdentity"] = "pod-identity"
    config[f"{P}awsEksClusterName"] = "aragora-east"
    config[f"{P}clusters"] = {name: dict(entry or {}) for name, entry in config[f"{P}clusters"].items()}
    home, *others = config[f"{P}clusters"]
    for name in others:
        config[f"{P}clusters"][name]["awsEksClusterName"] = f"aragora-{name}"
    plan = render("production", _write(tmp_path, config))
    account = config[f"{P}awsAccountId"]
    expected = {
        f"arn:aws:eks:{keys['awsRegion']}:{account}:cluster/{'aragora-east' if name == home else f'aragora-{name}'}"
        for name, keys in _clusters(_write(tmp_path, config)).items()
    }
    statements = json.loads(plan.one("aws:iam/role:Role")["inputs"]["assumeRolePolicy"])["Statement"]
    trusted = {s["Condition"]["StringEquals"]["aws:RequestTag/eks-cluster-arn"] for s in statements}
    assert trusted == expected and len(expected) == len(config[f"{P}clusters"])
    for s in statements:
        assert s["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert s["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"] == "external-secrets"
    # One association per cluster, each declared in its cluster's region.
    associations = plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert {(a["inputs"]["clusterName"], _region(plan, a)) for a in associations} == {
        (arn.rsplit("/", 1)[1], arn.split(":")[3]) for arn in expected
    }

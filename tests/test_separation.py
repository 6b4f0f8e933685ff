"""Cross-environment separation: two stack files of one project never share what keeps them apart.

Each case writes two stack files side by side (as a project holds them) and
renders one: a shared cluster context, OIDC provider, EKS cluster, GCP project
or pool, or Vault mount is refused with one line naming the key and the other
stack; what the rule allows renders.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.fields import ConfigError
from stacktools import plan as plan_cmd
from stacktools.recorder import render  # uncached: these tests rewrite stack files in place
from tests.support import PLANS, plans_of
from tests.test_authority import cluster_ca

P = "aragora-secrets"


def _config(name: str) -> dict:
    stack, path = PLANS[name]
    return yaml.safe_load((path or Path(f"Pulumi.{stack}.yaml")).read_text())["config"]


AWS = _config(plans_of("aws")[0])
VAULT = _config(plans_of("vault")[0])
GCP = _config(plans_of("gcp")[0])


def _write(directory: Path, stack: str, base: dict, **changes) -> Path:
    config = {**base, **{f"{P}:{k}": v for k, v in changes.items()}}
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def _gcp(directory: Path, stack: str, **changes) -> Path:
    """A GCP stack; a separate pool project gets its own number (direct mode names it)."""
    project = changes.get("gcpProject", GCP[f"{P}:gcpProject"])
    if project != GCP[f"{P}:gcpProject"] and GCP.get(f"{P}:gcpProjectNumber"):
        # Another project has another number (one number is one project across stacks).
        changes.setdefault("gcpProjectNumber", str(200000000000 + sum(map(ord, project))))
    if changes.get("gcpClusterProject") and changes["gcpClusterProject"] != project:
        changes.setdefault("gcpClusterProjectNumber", str(100000000000 + sum(map(ord, changes["gcpClusterProject"]))))
    return _write(directory, stack, GCP, **changes)


def _refused(path: Path, stack: str, key: str, other: str) -> str:
    with pytest.raises(ConfigError) as err:
        render(stack, path)
    message = str(err.value)
    assert message.startswith(f"{P}:{key}: ") and f"is also stack {other}'s" in message and "\n" not in message, message
    return message


def _oidc(account: str, oidc_id: str = "0123456789ABCDEF0123456789ABCDEF", region: str = "us-east-1") -> str:
    return f"arn:aws:iam::{account}:oidc-provider/oidc.eks.{region}.amazonaws.com/id/{oidc_id}"


def _aws(directory, stack, account, context, oidc_id="0123456789ABCDEF0123456789ABCDEF", **changes):
    changes.setdefault("awsDeployerRoleArn", f"arn:aws:iam::{account}:role/{stack}-deployer")
    return _write(directory, stack, AWS, awsAccountId=account, awsOidcProviderArn=_oidc(account, oidc_id), kubeContext=context, **changes)


def test_a_shared_kube_context_is_refused_naming_the_other_stack(tmp_path):
    _aws(tmp_path, "alpha", "111111111111", "one-cluster", "A" * 32)
    path = _aws(tmp_path, "beta", "222222222222", "one-cluster", "B" * 32)
    _refused(path, "beta", "kubeContext", "alpha")


def test_trusting_another_environments_oidc_provider_is_refused(tmp_path):
    _aws(tmp_path, "alpha", "111111111111", "ctx-a", "A" * 32)
    path = _aws(tmp_path, "beta", "111111111111", "ctx-b", "A" * 32)
    _refused(path, "beta", "awsOidcProviderArn", "alpha")


def test_one_aws_account_with_two_clusters_is_allowed(tmp_path):
    _aws(tmp_path, "alpha", "111111111111", "ctx-a", "A" * 32)
    path = _aws(tmp_path, "beta", "111111111111", "ctx-b", "B" * 32)
    plan = render("beta", path)
    assert plan.one("aws:iam/role:Role")["inputs"]["name"] == "aragora-beta-eso"


def test_one_deployer_role_for_two_environments_is_refused(tmp_path):
    # It holds the admin rights of the environment it deploys (make operator's workspaces).
    role = "arn:aws:iam::111111111111:role/deployer"
    _aws(tmp_path, "alpha", "111111111111", "ctx-a", "A" * 32, awsDeployerRoleArn=role)
    path = _aws(tmp_path, "beta", "111111111111", "ctx-b", "B" * 32, awsDeployerRoleArn=role)
    _refused(path, "beta", "awsDeployerRoleArn", "alpha")


def test_a_deployer_role_of_another_account_is_refused(tmp_path):
    path = _aws(tmp_path, "beta", "111111111111", "ctx-b", "B" * 32, awsDeployerRoleArn="arn:aws:iam::222222222222:role/deployer")
    with pytest.raises(ConfigError, match=r"^aragora-secrets:awsDeployerRoleArn: .* is not of this account"):
        render("beta", path)


def test_one_deployer_service_account_for_two_gcp_environments_is_refused(tmp_path):
    gsa = "deployer@shared-proj.iam.gserviceaccount.com"
    _gcp(tmp_path, "alpha", kubeContext="ctx-a", gcpProject="secrets-a-proj", gcpClusterProject="pool-a-proj", gcpDeployerServiceAccount=gsa)
    path = _gcp(tmp_path, "beta", kubeContext="ctx-b", gcpProject="secrets-b-proj", gcpClusterProject="pool-b-proj", gcpDeployerServiceAccount=gsa)
    _refused(path, "beta", "gcpDeployerServiceAccount", "alpha")


def test_two_pod_identity_stacks_on_one_eks_cluster_are_refused(tmp_path):
    pod = {"awsIdentity": "pod-identity", "awsEksClusterName": "shared"}
    _aws(tmp_path, "alpha", "111111111111", "ctx-a", "A" * 32, **pod)
    path = _aws(tmp_path, "beta", "111111111111", "ctx-b", "B" * 32, **pod)
    _refused(path, "beta", "awsEksClusterName", "alpha")
    other = _aws(tmp_path, "beta", "111111111111", "ctx-b", "B" * 32, awsIdentity="pod-identity", awsEksClusterName="own")
    assert render("beta", other).one("aws:eks/podIdentityAssociation:PodIdentityAssociation")["inputs"]["clusterName"] == "own"


def test_one_gcp_project_for_two_environments_secrets_is_refused(tmp_path):
    _gcp(tmp_path, "alpha", kubeContext="ctx-a", gcpClusterProject="pool-a-proj")
    path = _gcp(tmp_path, "beta", kubeContext="ctx-b", gcpClusterProject="pool-b-proj")
    _refused(path, "beta", "gcpProject", "alpha")


def test_one_workload_identity_pool_for_two_environments_is_refused(tmp_path):
    _gcp(tmp_path, "alpha", kubeContext="ctx-a", gcpProject="secrets-a-proj", gcpClusterProject="shared-pool")
    path = _gcp(tmp_path, "beta", kubeContext="ctx-b", gcpProject="secrets-b-proj", gcpClusterProject="shared-pool")
    _refused(path, "beta", "gcpClusterProject", "alpha")
    # The pool of a project without gcpClusterProject is that project's own.
    path = _gcp(tmp_path, "beta", kubeContext="ctx-b", gcpProject="shared-pool", gcpClusterProject="")
    with pytest.raises(ConfigError, match=r"is also stack alpha's"):
        render("beta", path)


def test_distinct_gcp_projects_and_pools_are_allowed(tmp_path):
    _gcp(tmp_path, "alpha", kubeContext="ctx-a", gcpProject="secrets-a-proj", gcpClusterProject="pool-a-proj")
    path = _gcp(tmp_path, "beta", kubeContext="ctx-b", gcpProject="secrets-b-proj", gcpClusterProject="pool-b-proj")
    assert render("beta", path).one("pulumi:providers:gcp")["inputs"]["project"] == "secrets-b-proj"


def _vault(directory, stack, context, **changes):
    # Each stack's own cluster: its API server is the one its auth mount reviews tokens against.
    changes.setdefault("vaultKubernetesHost", f"https://api.{context}.example.com")
    changes.setdefault("vaultKubernetesCaCert", cluster_ca(context))  # and its own CA
    return _write(directory, stack, VAULT, kubeContext=context, vaultAddress="https://vault.shared.example:8200", **changes)


def test_one_vault_server_with_one_auth_mount_is_refused(tmp_path):
    _vault(tmp_path, "alpha", "ctx-a", vaultKvMount="kv-a", vaultAuthMount="k8s")
    path = _vault(tmp_path, "beta", "ctx-b", vaultKvMount="kv-b", vaultAuthMount="k8s")
    _refused(path, "beta", "vaultAuthMount", "alpha")


def test_one_vault_server_with_one_owned_kv_mount_is_refused(tmp_path):
    _vault(tmp_path, "alpha", "ctx-a", vaultKvMount="kv", vaultAuthMount="k8s-a")
    path = _vault(tmp_path, "beta", "ctx-b", vaultKvMount="kv", vaultAuthMount="k8s-b")
    _refused(path, "beta", "vaultKvMount", "alpha")


def test_one_vault_server_with_distinct_mounts_or_an_adopted_kv_mount_is_allowed(tmp_path):
    _vault(tmp_path, "alpha", "ctx-a", vaultKvMount="kv-a", vaultAuthMount="k8s-a")
    distinct = _vault(tmp_path, "beta", "ctx-b", vaultKvMount="kv-b", vaultAuthMount="k8s-b")
    assert render("beta", distinct).one("vault:index/mount:Mount")["inputs"]["path"] == "kv-b"
    _vault(tmp_path, "alpha", "ctx-a", vaultKvMount="kv", vaultAuthMount="k8s-a", vaultAdoptKvMount=True)
    adopted = _vault(tmp_path, "beta", "ctx-b", vaultKvMount="kv", vaultAuthMount="k8s-b", vaultAdoptKvMount=True)
    plan = render("beta", adopted)
    assert plan.of_type("vault:index/mount:Mount") == []
    assert 'path "kv/data/aragora/beta/' in plan.one("vault:index/policy:Policy")["inputs"]["policy"]


def test_the_same_mounts_on_two_vault_servers_are_allowed(tmp_path):
    _write(tmp_path, "alpha", VAULT, kubeContext="ctx-a", vaultAddress="https://vault-a.example:8200", vaultKubernetesHost="https://api.a.example", vaultKubernetesCaCert=cluster_ca("ctx-a"))
    path = _write(tmp_path, "beta", VAULT, kubeContext="ctx-b", vaultAddress="https://vault-b.example:8200", vaultKubernetesHost="https://api.b.example", vaultKubernetesCaCert=cluster_ca("ctx-b"))
    assert render("beta", path).one("vault:index/authBackend:AuthBackend")


def test_a_vault_server_is_the_same_however_its_address_is_spelt(tmp_path):
    _write(tmp_path, "alpha", VAULT, kubeContext="ctx-a", vaultAddress="https://Vault.Example", vaultKubernetesHost="https://api.a.example")
    path = _write(tmp_path, "beta", VAULT, kubeContext="ctx-b", vaultAddress="https://vault.example:443/", vaultKubernetesHost="https://api.b.example")
    _refused(path, "beta", "vaultAuthMount", "alpha")


def test_a_conflict_exits_2_in_one_line_through_the_plan_command(tmp_path, capsys):
    _aws(tmp_path, "alpha", "111111111111", "shared-ctx", "A" * 32)
    path = _aws(tmp_path, "beta", "222222222222", "shared-ctx", "B" * 32)
    assert plan_cmd.main(["--config-file", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {P}:kubeContext: 'shared-ctx' is also stack alpha's")


NEIGHBOURS = {
    "invalid-value": "config:\n  aragora-secrets:kubeContext: 'has space'\n",
    "removed-key": "config:\n  aragora-secrets:kubeContext: ctx-n\n  aragora-secrets:environment: n\n",
    "unknown-key": "config:\n  aragora-secrets:kubeContext: ctx-n\n  aragora-secrets:kubeContxt: x\n",
    "port-out-of-range": "config:\n  aragora-secrets:kubeContext: ctx-n\n  aragora-secrets:backend: vault\n  aragora-secrets:vaultTokenReviewer: vault\n"
    "  aragora-secrets:vaultAddress: https://vault.example.com:99999\n  aragora-secrets:vaultKubernetesHost: https://k.example.com\n",
    "deep-nesting": "config:\n  aragora-secrets:kubeContext: " + "[" * 5000 + "]" * 5000 + "\n",
    "complex-key": "config:\n  ? [a, b]\n  : c\n",
    "esc-environment": "environment:\n  - shared/production\nconfig:\n  aragora-secrets:kubeContext: ctx-n\n",
    "not-utf8": b"config:\n  aragora-secrets:kubeContext: \xff\n",
    "empty-mapping-of-lists": "- config\n",
}


@pytest.mark.parametrize("case", sorted(NEIGHBOURS))
def test_a_neighbour_that_cannot_be_checked_makes_the_stack_refuse_naming_that_file(tmp_path, case, capsys):
    content = NEIGHBOURS[case]
    (tmp_path / "Pulumi.neighbour.yaml").write_bytes(content if isinstance(content, bytes) else content.encode())
    path = _aws(tmp_path, "beta", "222222222222", "ctx-b", "B" * 32)
    assert plan_cmd.main(["--config-file", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {P}: Pulumi.neighbour.yaml, another stack of this project, cannot be checked"), line
    assert "every stack refuses" in line
    if case == "port-out-of-range":
        assert "port out of range" in line  # the neighbour's own problem, not a crash of the reader


@pytest.mark.parametrize("kind", ["fifo", "device-symlink", "directory"])
def test_a_neighbour_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path, kind, capsys):
    import os

    neighbour = tmp_path / "Pulumi.neighbour.yaml"
    if kind == "fifo":
        os.mkfifo(neighbour)  # reading it would block forever
    elif kind == "device-symlink":
        neighbour.symlink_to("/dev/zero")  # reading it would never end
    else:
        neighbour.mkdir()
    path = _aws(tmp_path, "beta", "222222222222", "ctx-b", "B" * 32)
    assert plan_cmd.main(["--config-file", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "Pulumi.neighbour.yaml" in line and ("not a regular file" in line or "is a directory" in line), line

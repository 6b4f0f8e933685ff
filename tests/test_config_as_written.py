"""Every value is judged as a stack file writes it and as the tool that reads it would read it.

Each case writes YAML stack files (the text a user writes) into a project
directory of its own and reads them through the same loader as the program
and the offline plan: typed values inside maps and lists, esoValues judged over
the pinned chart's defaults, identities compared as their provider compares
them (across neighbours), values the reading tool would refuse, and nothing
declared before a refusal.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from infra import config, stackfiles
from infra.fields import ConfigError
from stacktools import plan as plan_cmd
from stacktools import recorder
from tests.support import PLANS, plans_of, run_main
from tests.test_authority import cluster_ca

P = "aragora-secrets"
RELEASE = "kubernetes:helm.sh/v3:Release"


def _base(backend: str) -> dict:
    stack, path = PLANS[plans_of(backend)[0]]
    return yaml.safe_load((path or stackfiles.stack_file(stack)).read_text())["config"]


AWS, GCP, VAULT = _base("aws"), _base("gcp"), _base("vault")


def write(directory: Path, stack: str, base: dict, text: str = "", **changes) -> Path:
    """``Pulumi.<stack>.yaml``: ``base``'s keys (less those ``text`` or ``changes`` set), then ``text`` as written."""
    written = {line.split(":", 2)[1].strip() for line in text.splitlines() if line.startswith(f"  {P}:")}
    config_ = {k: v for k, v in base.items() if k.removeprefix(f"{P}:") not in written}
    config_.update({f"{P}:{k}": v for k, v in changes.items()})
    body = yaml.safe_dump({"config": config_}, sort_keys=False, width=4096)
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(body + text)
    return path


def parse(path: Path) -> config.StackConfig:
    cfg = config.from_stack_file(stackfiles.stack_of(path) or "", path)
    config.check_separation(cfg, path.parent)
    return cfg


def refused(path: Path, key: str, *words: str) -> str:
    with pytest.raises(ConfigError) as err:
        parse(path)
    message = str(err.value)
    assert message.startswith(f"{P}:{key}: ") and "\n" not in message, message
    assert all(w in message for w in words), message
    return message


# --- typed values inside maps and lists -----------------------------------------------------------


def test_the_documented_eso_values_render_from_a_stack_file_with_their_yaml_types(tmp_path):
    path = write(tmp_path, "qa", AWS, f"  {P}:esoValues:\n    webhook: {{port: 9443, hostNetwork: false}}\n    resources: {{requests: {{cpu: 0.5, memory: 1}}}}\n")
    values = recorder.render("qa", path).one(RELEASE)["inputs"]["values"]
    assert values["webhook"]["port"] == 9443 and values["webhook"]["hostNetwork"] is False
    ingress_ports = [p["port"] for rule in values["webhook"]["networkPolicy"]["ingress"] for p in rule.get("ports", [])]
    assert 9443 in ingress_ports  # the webhook's NetworkPolicy follows the moved port


def test_yaml_12_core_types_inside_a_map_and_text_at_the_top(tmp_path):
    text = f"  {P}:esoValues:\n    podLabels: {{a: on, b: \"1\", c: yes}}\n    webhook: {{port: 0x24c3}}\n  {P}:jwtRotation: 2026-11-28\n"
    raw = config.project_keys(stackfiles.stack_config("qa", write(tmp_path, "qa", AWS, text)))
    assert json.loads(raw["esoValues"]) == {"podLabels": {"a": "on", "b": "1", "c": "yes"}, "webhook": {"port": 0x24C3}}
    assert raw["jwtRotation"] == "2026-11-28"  # a top-level scalar stays text, as the CLI stores it


@pytest.mark.parametrize(
    ("snippet", "path", "words"),
    [
        ("podSecurityContext: {runAsUser: 0}", "podSecurityContext.runAsUser", "root"),
        ("securityContext: {runAsUser: \"1000\"}", "securityContext.runAsUser", "integer"),  # a string is not the chart's integer
        ("securityContext: {seccompProfile: null}", "securityContext.seccompProfile", "RuntimeDefault"),
        ("securityContext: {capabilities: {drop: []}}", "securityContext.capabilities.drop", "ALL"),
        ("securityContext: {capabilities: null}", "securityContext.capabilities.drop", "ALL"),
        ("securityContext: {readOnlyRootFilesystem: null}", "securityContext.readOnlyRootFilesystem", "writable"),
        ("securityContext: {appArmorProfile: {type: Unconfined}}", "securityContext.appArmorProfile", "AppArmor"),
        ("podSecurityContext: {appArmorProfile: {type: Unconfined}}", "podSecurityContext.appArmorProfile", "AppArmor"),
        ("securityContext: {seLinuxOptions: {type: spc_t}}", "securityContext.seLinuxOptions", "SELinux"),
        ("securityContext: {procMount: Unmasked}", "securityContext.procMount", "/proc"),
        ("podSecurityContext: {supplementalGroups: [0]}", "podSecurityContext.supplementalGroups", "group 0"),
        ("podSecurityContext: {fsGroup: 0}", "podSecurityContext.fsGroup", "root's group"),
        ("securityContext: {windowsOptions: {hostProcess: true}}", "securityContext.windowsOptions", "host process"),
        ("podAnnotations: {seccomp.security.alpha.kubernetes.io/pod: unconfined}", "podAnnotations.seccomp", "annotation"),
        ("podSecurityContext: {runAsNonRoot: false, runAsUser: 1000}", "podSecurityContext.runAsNonRoot", "root"),
        ("certController: {securityContext: {allowPrivilegeEscalation: null}}", "certController.securityContext.allowPrivilegeEscalation", "escalation"),
        ("podSecurityContext: {sysctls: [{name: kernel.shm_rmid_forced, value: '0'}]}", "podSecurityContext.sysctls", "kernel"),
        ("webhook: {securityContext: null}", "webhook.securityContext.enabled", "securityContext"),
        ("certController: {podSecurityContext: {enabled: false}}", "certController.podSecurityContext.enabled", "podSecurityContext"),
        ("webhook: {port: 8080}", "webhook.port", "8080"),  # the webhook's metrics port
        ("webhook: {hostNetwork: true}", "webhook.hostNetwork", "host network"),
        ("webhook: {port: null}", "webhook.port", "not a port"),
        ("certController: {image: {repository: null}}", "certController.image.repository", "missing"),
        ("podAnnotations: {container.apparmor.security.beta.kubernetes.io/external-secrets: unconfined}", "podAnnotations.container", "annotation"),
    ],
)
def test_eso_values_that_undo_a_hardening_over_the_charts_defaults_are_refused_naming_the_path(tmp_path, snippet, path, words):
    message = refused(write(tmp_path, "qa", AWS, f"  {P}:esoValues:\n    {snippet}\n"), "esoValues", words)
    assert message.startswith(f"{P}:esoValues: '{path}"), message


@pytest.mark.parametrize("number", [".nan", ".inf", "-.Inf"])
def test_a_number_the_cli_cannot_pass_is_one_line(tmp_path, number):
    path = write(tmp_path, "qa", AWS, f"  {P}:esoValues: {{resources: {{requests: {{cpu: {number}}}}}}}\n")
    result = run_main(plan_cmd.main, ["--config-file", str(path)])
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "esoValues" in result.stderr, result.stderr


def test_a_neighbour_with_the_documented_example_leaves_other_stacks_valid(tmp_path):
    write(tmp_path, "alpha", AWS, f"  {P}:esoValues:\n    webhook: {{port: 9443}}\n    securityContext: {{runAsUser: 65532}}\n", kubeContext="ctx-a",
          awsOidcProviderArn=AWS[f"{P}:awsOidcProviderArn"][:-32] + "A" * 32, awsDeployerRoleArn=AWS[f"{P}:awsDeployerRoleArn"] + "-a")
    assert parse(write(tmp_path, "beta", AWS, kubeContext="ctx-b")).environment == "beta"


# --- esoServiceAccount --------------------------------------------------------------------------


@pytest.mark.parametrize("account", ["default/default", "kube-system/external-secrets", "kube-public/eso", "kube-node-lease/eso", "default/eso", "external-secrets/default", "kube-extra/eso"])
def test_a_shared_or_system_service_account_is_never_esos(tmp_path, account):
    refused(write(tmp_path, "qa", AWS, esoInstall="external", esoServiceAccount=account), "esoServiceAccount")


def test_the_apps_own_namespace_is_refused_before_anything_is_declared(tmp_path):
    path = write(tmp_path, "qa", AWS, esoInstall="external", esoServiceAccount="aragora/eso")
    recording = recorder.record("qa", path)
    assert recording.error is not None and str(recording.error).startswith(f"{P}:esoServiceAccount: ")
    assert recording.declared == []


# --- identities as their provider compares them -----------------------------------------------------

ESO_ROLE = f"arn:aws:iam::{AWS[f'{P}:awsAccountId']}:role/"


@pytest.mark.parametrize("key", ["awsKmsAdminArns", "awsSecretWriterArns"])
@pytest.mark.parametrize("role", ["Aragora-QA-ESO", "ops/aragora-qa-eso", "team/x/ARAGORA-production-Eso"])
def test_an_eso_role_in_any_case_or_path_is_never_an_administrator_or_writer_and_nothing_is_declared(tmp_path, key, role):
    extra = {"awsVpcEndpoints": "existing", "awsVpcEndpointIds": ["vpce-0123456789abcdef0"]} if key == "awsSecretWriterArns" else {}
    recording = recorder.record("qa", write(tmp_path, "qa", AWS, **{key: [ESO_ROLE + role]}, **extra))
    assert recording.error is not None and str(recording.error).startswith(f"{P}:{key}: "), recording.error
    assert recording.declared == []


def test_deployer_roles_that_differ_only_in_case_or_path_are_one_identity(tmp_path):
    account = AWS[f"{P}:awsAccountId"]
    write(tmp_path, "alpha", AWS, kubeContext="ctx-a", awsDeployerRoleArn=f"arn:aws:iam::{account}:role/deploy/Aragora-Deployer",
          awsOidcProviderArn=AWS[f"{P}:awsOidcProviderArn"][:-32] + "A" * 32)
    refused(write(tmp_path, "beta", AWS, kubeContext="ctx-b", awsDeployerRoleArn=f"arn:aws:iam::{account}:role/aragora-deployer"), "awsDeployerRoleArn", "stack alpha")


def test_one_administrator_listed_twice_in_another_case_or_path_is_refused(tmp_path):
    refused(write(tmp_path, "qa", AWS, awsKmsAdminArns=[ESO_ROLE + "platform-admin", ESO_ROLE + "ops/Platform-Admin"]), "awsKmsAdminArns", "IAM names ignore case")


def test_issuer_hosts_follow_the_partition(tmp_path):
    account = AWS[f"{P}:awsAccountId"]
    refused(write(tmp_path, "qa", AWS, awsOidcProviderArn=f"arn:aws:iam::{account}:oidc-provider/oidc.eks.us-east-1.amazonaws.com.cn/id/{'A' * 32}"), "awsOidcProviderArn", "amazonaws.com")
    (tmp_path / "Pulumi.qa.yaml").unlink()
    china = {"awsRegion": "cn-north-1", "kubeContext": "ctx-cn"}
    refused(write(tmp_path, "cn", AWS, awsOidcProviderArn=f"arn:aws-cn:iam::{account}:oidc-provider/oidc.eks.cn-north-1.amazonaws.com/id/{'A' * 32}", **china), "awsOidcProviderArn", "amazonaws.com.cn")
    assert parse(write(tmp_path, "cn", AWS, awsOidcProviderArn=f"arn:aws-cn:iam::{account}:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/{'A' * 32}",
                       awsDeployerRoleArn=f"arn:aws-cn:iam::{account}:role/cn-deployer", **china)).backend.partition == "aws-cn"


def test_the_eks_context_names_the_pod_identity_cluster_and_no_neighbours(tmp_path):
    account, region = AWS[f"{P}:awsAccountId"], AWS[f"{P}:awsRegion"]
    pod = {"awsIdentity": "pod-identity", "awsOidcProviderArn": ""}
    refused(write(tmp_path, "qa", AWS, kubeContext=f"arn:aws:eks:{region}:{account}:cluster/other", awsEksClusterName="mine", **pod), "kubeContext", "Pod Identity")
    (tmp_path / "Pulumi.qa.yaml").unlink()
    write(tmp_path, "alpha", AWS, kubeContext=f"arn:aws:eks:{region}:{account}:cluster/shared")
    refused(write(tmp_path, "beta", AWS, kubeContext="ctx-b", awsEksClusterName="shared", awsDeployerRoleArn=f"arn:aws:iam::{account}:role/b", **pod), "awsEksClusterName", "stack alpha")


def test_one_gcp_project_number_is_one_project_across_stacks(tmp_path):
    write(tmp_path, "alpha", GCP, kubeContext="ctx-a", gcpProject="proj-alpha", gcpProjectNumber="111111111111")
    refused(write(tmp_path, "beta", GCP, kubeContext="ctx-b", gcpProject="proj-beta-x", gcpProjectNumber="111111111111"), "gcpProjectNumber", "stack alpha")
    refused(write(tmp_path, "beta", GCP, kubeContext="ctx-b", gcpProject="proj-beta-x", gcpProjectNumber="333333333333", gcpClusterProject="proj-pool-b",
                  gcpClusterProjectNumber="111111111111"), "gcpClusterProjectNumber", "stack alpha")


def test_esos_google_account_is_never_a_deployer(tmp_path):
    project = GCP[f"{P}:gcpProject"]
    recording = recorder.record("qa", write(tmp_path, "qa", GCP, gcpDeployerServiceAccount=f"eso-production@{project}.iam.gserviceaccount.com"))
    assert str(recording.error).startswith(f"{P}:gcpDeployerServiceAccount: ") and recording.declared == []


def _vault(directory: Path, stack: str, context: str, **changes) -> Path:
    changes.setdefault("vaultKubernetesCaCert", cluster_ca(context))
    changes.setdefault("vaultKubernetesHost", f"https://api.{context}.example")
    return write(directory, stack, VAULT, kubeContext=context, vaultAddress="https://vault.shared.example:8200", vaultAuthMount=f"k8s-{stack}", **changes)


def test_an_adopted_kv_path_inside_another_environments_mount_is_refused(tmp_path):
    _vault(tmp_path, "alpha", "ctx-a", vaultKvMount="kv")
    refused(_vault(tmp_path, "beta", "ctx-b", vaultKvMount="kv/beta", vaultAdoptKvMount=True), "vaultKvMount", "stack alpha")
    assert parse(_vault(tmp_path, "beta", "ctx-b", vaultKvMount="kv-beta")).environment == "beta"


def test_one_ca_is_one_cluster_whatever_name_vault_reviews_it_by(tmp_path):
    _vault(tmp_path, "alpha", "ctx-a", vaultKvMount="kv-a", vaultKubernetesHost="https://kubernetes.default.svc", vaultKubernetesCaCert=cluster_ca("one"))
    refused(_vault(tmp_path, "beta", "ctx-b", vaultKvMount="kv-b", vaultKubernetesCaCert=cluster_ca("one")), "vaultKubernetesCaCert", "stack alpha")
    assert parse(_vault(tmp_path, "beta", "ctx-b", vaultKvMount="kv-b")).environment == "beta"  # its own CA: its own cluster


# --- values the reading tool would refuse ---------------------------------------------------------------


@pytest.mark.parametrize(("base", "key", "value"), [("gcp", "gcpRotationStart", "2027-02-30T09:00:00Z"), ("gcp", "gcpRotationStart", "2027-01-04T24:00:00Z"), ("aws", "jwtRotation", "2026-02-29")])
def test_an_impossible_date_is_refused(tmp_path, base, key, value):
    extra = {"gcpProjectNumber": "123456789012"} if base == "gcp" else {}
    refused(write(tmp_path, "qa", {"aws": AWS, "gcp": GCP}[base], **{key: value}, **extra), key, "exist")


def test_a_rotation_lambda_of_another_region_is_refused(tmp_path):
    account = AWS[f"{P}:awsAccountId"]
    refused(write(tmp_path, "qa", AWS, awsRotationLambdaArns=[f"database=arn:aws:lambda:eu-west-1:{account}:function:rotate"]), "awsRotationLambdaArns", "region")


def test_a_structured_value_nested_too_deep_is_one_line():
    raw = {**config.project_keys(stackfiles.stack_config(*PLANS[plans_of("aws")[0]])), "esoValues": "[" * 20_000 + "]" * 20_000}
    with pytest.raises(ConfigError, match=rf"^{P}:esoValues: .*allowed: a YAML map"):
        config.parse(raw, "qa")
    raw["esoValues"] = json.dumps(_nested(40))
    with pytest.raises(ConfigError, match=rf"^{P}:esoValues: .*nested deeper"):
        config.parse(raw, "qa")


def test_a_list_nested_too_deep_is_one_line():
    raw = {**BASE_RAW, "alertLabels": "[" * 20_000 + "]" * 20_000}
    with pytest.raises(ConfigError, match=rf"^{P}:alertLabels: .*is not a list"):
        config.parse(raw, "qa")


def test_make_plan_into_an_existing_file_or_against_a_broken_base_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "resources.json").write_text("[]")
    (tmp_path / "base" / "cost.json").write_text('{"monthlyCost": "a lot"}')
    for argv in (["--out", str(tmp_path / "file")], ["--diff", str(tmp_path / "base")]):
        result = run_main(plan_cmd.main, ["--stack", PLANS[plans_of("aws")[0]][0], *argv])
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and result.stdout == "", result.stderr
    assert (tmp_path / "file").read_text() == "x"


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return {"affinity": value}


# --- the commands CI runs --------------------------------------------------------------------------


def test_print_kube_context_prints_only_a_valid_separated_context(tmp_path):
    good = run_main(plan_cmd.main, ["--print-kube-context", "--config-file", str(write(tmp_path, "qa", AWS, kubeContext="ctx-qa"))])
    assert (good.returncode, good.stdout) == (0, "ctx-qa\n")
    bad = write(tmp_path, "qa", AWS, f"  {P}:kubeContext: \"ctx-qa\\nexport X=1\"\n")
    result = run_main(plan_cmd.main, ["--print-kube-context", "--config-file", str(bad)])
    assert result.returncode == 2 and result.stdout == "" and result.stderr.count("\n") == 1 and "kubeContext" in result.stderr


def test_a_symlinked_config_file_is_checked_against_the_stacks_beside_the_link(tmp_path):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir(), elsewhere.mkdir()
    write(project, "alpha", AWS, kubeContext="one-cluster")
    target = write(elsewhere, "target", AWS, kubeContext="one-cluster")
    link = project / "Pulumi.beta.yaml"
    os.symlink(target, link)
    result = run_main(plan_cmd.main, ["--config-file", str(link)])
    assert result.returncode == 2 and "is also stack alpha's" in result.stderr, result.stderr


# --- no value backtracks ------------------------------------------------------------------------------

# What catastrophic backtracking feeds on: long runs of one separator-and-word unit that a pattern can
# split two ways, ended by a character no rule takes.
UNIT = st.text(alphabet="a0A-._/:=@+,%~", min_size=1, max_size=4)
TAIL = st.sampled_from(["!", "\n", " ", "", "/", "-", ".", "\u00e9"])
NESTED_STRINGS = ("image.repository", "priorityClassName", "nodeSelector key", "podLabels key", "resources quantity", "imagePullSecrets name")


def _pathological(unit: str, tail: str) -> str:
    return (unit * (10_000 // len(unit)))[:10_000 - len(tail)] + tail


def _bounded(what: str, check) -> None:
    start, message = time.perf_counter(), ""
    try:
        check()
    except ConfigError as err:
        message = str(err)
    assert time.perf_counter() - start < 1.0, f"{what} took {time.perf_counter() - start:.2f}s"
    assert "\n" not in message, message


LIST_KEYS = {k for k, spec in stackfiles.declared_config().items() if spec.get("type") == "array"}
BASE_RAW = config.project_keys(stackfiles.stack_config(*PLANS[plans_of("aws")[0]]))


@settings(max_examples=2, deadline=None)
@given(unit=UNIT, tail=TAIL)
@example(unit="a/", tail="!")
@example(unit="a-", tail="!")
@example(unit="a.", tail="/")
def test_a_10kb_pathological_string_in_any_key_is_judged_in_under_a_second(unit, tail):
    value = _pathological(unit, tail)
    for key in config.declared_keys():
        _bounded(key, lambda key=key: config.parse({**BASE_RAW, key: value}, "qa"))
        if key in LIST_KEYS:
            _bounded(f"{key} (an item)", lambda key=key: config.parse({**BASE_RAW, key: json.dumps([value])}, "qa"))


@settings(max_examples=4, deadline=None)
@given(unit=UNIT, tail=TAIL, where=st.sampled_from(NESTED_STRINGS))
@example(unit="a/a", tail="!", where="image.repository")  # the 79-byte class that hung the plan
def test_a_10kb_pathological_string_anywhere_in_eso_values_is_judged_in_under_a_second(tmp_path_factory, unit, tail, where):
    value = _pathological(unit, tail)
    values = {
        "image.repository": {"image": {"repository": value}},
        "priorityClassName": {"priorityClassName": value},
        "nodeSelector key": {"nodeSelector": {value: "x"}},
        "podLabels key": {"podLabels": {value: "x"}},
        "resources quantity": {"resources": {"requests": {"cpu": value}}},
        "imagePullSecrets name": {"imagePullSecrets": [{"name": value}]},
    }[where]
    directory = tmp_path_factory.mktemp("eso")
    path = write(directory, "qa", AWS, f"  {P}:esoValues: {json.dumps(values)}\n")
    _bounded(where, lambda: config.from_stack_file("qa", path))

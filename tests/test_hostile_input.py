"""Hostile stack configs: every invalid one exits 2 with one line naming the key, and declares nothing."""

from __future__ import annotations

import contextlib
import io
import string
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra import config, stackfiles
from infra.backends import REGISTRY
from infra.fields import ConfigError
from stacktools import plan as plan_cmd
from stacktools import recorder
from tests.support import PLANS, plans_of

P = "aragora-secrets"
BASE_NAME = plans_of("aws")[0]
BASE_STACK, BASE_FILE = PLANS[BASE_NAME]
BASE: dict = yaml.safe_load((BASE_FILE or stackfiles.stack_file(BASE_STACK)).read_text())["config"]
DECLARED = sorted(stackfiles.declared_config())
ACCOUNT = str(BASE[f"{P}:awsAccountId"])
REGION = BASE[f"{P}:awsRegion"]
OIDC_ID = BASE[f"{P}:awsOidcProviderArn"].rsplit("/", 1)[1]
OTHER_ACCOUNT = "999988887777" if ACCOUNT != "999988887777" else "999988887776"
# Switching the base (an AWS stack) to another backend: its AWS keys go back to their defaults,
# or they would be refused first as keys of a backend the stack does not use.
AWS_OFF = {k.removeprefix(f"{P}:"): v for k, v in stackfiles.project_defaults().items() if k.startswith(f"{P}:aws") and k in BASE}


def oidc(account: str = ACCOUNT, region: str = REGION, partition: str = "aws", host_suffix: str = "") -> str:
    return f"arn:{partition}:iam::{account}:oidc-provider/oidc.eks.{region}.amazonaws.com{host_suffix}/id/{OIDC_ID}"


BAD = [
    # (case id, changes, key named, words the message must carry); every case is a mistake an operator made once.
    ("unknown-backend", {"backend": "azure"}, "backend", ", ".join(REGISTRY)),
    ("backend-wrong-case", {"backend": "AWS"}, "backend", "aws"),
    ("removed-environment-key", {"environment": BASE_STACK}, "environment", "stack name is the environment"),
    ("oidc-arn-malformed", {"awsOidcProviderArn": f"arn:aws:iam::{ACCOUNT}:role/x"}, "awsOidcProviderArn", "oidc-provider"),
    ("oidc-arn-with-https", {"awsOidcProviderArn": oidc().replace("provider/oidc", "provider/https://oidc")}, "awsOidcProviderArn", "oidc-provider"),
    ("oidc-arn-other-account", {"awsOidcProviderArn": oidc(account=OTHER_ACCOUNT)}, "awsOidcProviderArn", "awsAccountId"),
    ("oidc-arn-other-region", {"awsOidcProviderArn": oidc(region="eu-west-1")}, "awsOidcProviderArn", "awsRegion"),
    ("oidc-arn-china-partition-with-us-region", {"awsOidcProviderArn": oidc(partition="aws-cn", host_suffix=".cn")}, "awsOidcProviderArn", "partition"),
    ("oidc-arn-trailing-newline", {"awsOidcProviderArn": oidc() + "\n"}, "awsOidcProviderArn", "oidc-provider"),
    ("account-id-short", {"awsAccountId": "12345"}, "awsAccountId", "12 digits"),
    ("account-id-letters", {"awsAccountId": "11112222333a"}, "awsAccountId", "12 digits"),
    ("account-id-full-width-digits", {"awsAccountId": "１１１１２２２２３３３３"}, "awsAccountId", "12 digits"),
    ("account-id-trailing-newline", {"awsAccountId": ACCOUNT + "\n"}, "awsAccountId", "12 digits"),
    ("region-malformed", {"awsRegion": "us-east"}, "awsRegion", "us-east-1"),
    ("region-upper", {"awsRegion": "US-EAST-1"}, "awsRegion", "us-east-1"),
    ("refresh-not-duration", {"refreshInterval": "hourly"}, "refreshInterval", "Go duration"),
    ("refresh-under-1m", {"refreshInterval": "30s"}, "refreshInterval", "1m"),
    ("refresh-over-24h", {"refreshInterval": "48h"}, "refreshInterval", "24h"),
    ("refresh-no-unit", {"refreshInterval": "60"}, "refreshInterval", "Go duration"),
    ("refresh-full-width-digit", {"refreshInterval": "５m"}, "refreshInterval", "Go duration"),
    ("refresh-trailing-newline", {"refreshInterval": "5m\n"}, "refreshInterval", "Go duration"),
    ("missing-kube-context", {"kubeContext": None}, "kubeContext", "missing"),
    ("kube-context-trailing-newline", {"kubeContext": "aragora\n"}, "kubeContext", "context"),
    ("kube-context-with-space", {"kubeContext": "my cluster"}, "kubeContext", "context"),
    ("kubeconfig-content-instead-of-path", {"kubeconfig": "apiVersion: v1\nclusters: []\n"}, "kubeconfig", "path"),
    ("empty-region-for-aws", {"awsRegion": ""}, "awsRegion", "missing"),
    ("empty-account-for-aws", {"awsAccountId": ""}, "awsAccountId", "missing"),
    ("empty-oidc-for-irsa", {"awsOidcProviderArn": ""}, "awsOidcProviderArn", "irsa"),
    ("pod-identity-without-cluster", {"awsIdentity": "pod-identity"}, "awsEksClusterName", "pod-identity"),
    ("unknown-identity", {"awsIdentity": "keys"}, "awsIdentity", "irsa, pod-identity"),
    ("unknown-key", {"awsRegoin": "us-east-1"}, "awsRegoin", "unknown key"),
    ("chart-range", {"esoChartVersion": "^2.9.0"}, "esoChartVersion", "X.Y.Z"),
    ("chart-dead-0x", {"esoChartVersion": "0.9.13"}, "esoChartVersion", "2.x"),
    ("chart-full-width-digits", {"esoChartVersion": "２.９.０"}, "esoChartVersion", "X.Y.Z"),
    ("chart-trailing-newline", {"esoChartVersion": "2.9.0\n"}, "esoChartVersion", "X.Y.Z"),
    ("replicas-zero", {"esoReplicas": "0"}, "esoReplicas", "from 1 to 5"),
    ("replicas-not-int", {"esoReplicas": "two"}, "esoReplicas", "integer"),
    ("replicas-float", {"esoReplicas": "2.0"}, "esoReplicas", "integer"),
    ("replicas-underscore", {"esoReplicas": "0_2"}, "esoReplicas", "integer"),
    ("recovery-window-too-short", {"awsRecoveryWindowDays": "3"}, "awsRecoveryWindowDays", "from 7 to 30"),
    ("jwt-rotation-not-label", {"jwtRotation": "Next Tuesday!"}, "jwtRotation", "label"),
    ("await-sync-not-bool", {"awaitSync": "perhaps"}, "awaitSync", "true or false"),
    ("await-sync-yaml-1.1-off", {"awaitSync": "off"}, "awaitSync", "true or false"),
    ("await-sync-no", {"awaitSync": "no"}, "awaitSync", "true or false"),
    ("removed-bootstrap-switch", {"bootstrap": "true"}, "bootstrap", "was removed"),
    ("drift-check-unknown", {"driftCheck": "weekly"}, "driftCheck", "hourly, daily"),
    ("kms-admin-of-another-account", {"awsKmsAdminArns": f'["arn:aws:iam::{OTHER_ACCOUNT}:role/admin"]'}, "awsKmsAdminArns", "not of this account"),
    ("kms-admin-not-an-arn", {"awsKmsAdminArns": '["admin"]'}, "awsKmsAdminArns", "IAM role or user ARNs"),
    ("kms-admins-not-a-list", {"awsKmsAdminArns": "arn:aws:iam::111122223333:role/admin"}, "awsKmsAdminArns", "not a list"),
    ("writer-of-another-account", {"awsSecretWriterArns": f'["arn:aws:iam::{OTHER_ACCOUNT}:role/operator"]'}, "awsSecretWriterArns", "not of this account"),
    ("vpc-endpoints-unknown-mode", {"awsVpcEndpoints": "private"}, "awsVpcEndpoints", "none, create, existing"),
    ("vpc-endpoints-create-without-vpc", {"awsVpcEndpoints": "create"}, "awsVpcId", "create"),
    ("vpc-endpoints-create-without-subnets", {"awsVpcEndpoints": "create", "awsVpcId": "vpc-0abc12345def67890"}, "awsVpcSubnetIds", "create"),
    ("vpc-endpoints-existing-without-ids", {"awsVpcEndpoints": "existing"}, "awsVpcEndpointIds", "existing"),
    ("vpc-endpoint-id-malformed", {"awsVpcEndpointIds": '["vpce-XYZ"]'}, "awsVpcEndpointIds", "vpce-"),
    ("monitoring-namespace-not-a-name", {"esoMonitoringNamespace": "Monitoring_NS"}, "esoMonitoringNamespace", "namespace"),
    ("stack-name-in-the-removed-key-style", {"environment": "production"}, "environment", "was removed"),
    ("vault-address-plain-http", {**AWS_OFF, "backend": "vault", "vaultAddress": "http://vault.example.com:8200", "vaultKubernetesHost": "https://kubernetes.default.svc"}, "vaultAddress", "https"),
    ("vault-kubernetes-host-plain-http", {**AWS_OFF, "backend": "vault", "vaultAddress": "https://vault.example.com", "vaultKubernetesHost": "http://kubernetes.default.svc"}, "vaultKubernetesHost", "https"),
]


# A real CA certificate (the example's): CA fields are parsed as X.509, a placeholder would be refused first.
VAULT_CA = yaml.safe_load((stackfiles.ROOT / "examples" / "vault" / "Pulumi.production.yaml").read_text())["config"][f"{P}:vaultKubernetesCaCert"]
VAULT = {**AWS_OFF, "backend": "vault", "vaultAddress": "https://vault.example.com:8200", "vaultKubernetesHost": "https://kubernetes.default.svc",
         "vaultKubernetesCaCert": VAULT_CA}
GCP = {**AWS_OFF, "backend": "gcp", "gcpProject": "aragora-hostile-1"}
BAD += [
    # Vault and GCP keys, each with the backend selected so its keys are read.
    ("vault-address-missing", {**VAULT, "vaultAddress": ""}, "vaultAddress", "missing"),
    ("vault-address-no-scheme", {**VAULT, "vaultAddress": "vault.example.com"}, "vaultAddress", "https URL"),
    ("vault-address-trailing-newline", {**VAULT, "vaultAddress": "https://vault.example.com\n"}, "vaultAddress", "https URL"),
    ("vault-kv-mount-leading-slash", {**VAULT, "vaultKvMount": "/secret"}, "vaultKvMount", "mount path"),
    ("vault-auth-mount-upper-case", {**VAULT, "vaultAuthMount": "Kubernetes"}, "vaultAuthMount", "mount path"),
    ("vault-token-ttl-too-short", {**VAULT, "vaultTokenTtl": "10s"}, "vaultTokenTtl", "5m..24h"),
    ("vault-token-ttl-too-long", {**VAULT, "vaultTokenTtl": "48h"}, "vaultTokenTtl", "5m..24h"),
    ("vault-audience-wildcard", {**VAULT, "vaultAudience": "*"}, "vaultAudience", "audience"),
    ("vault-audience-with-space", {**VAULT, "vaultAudience": "va ult"}, "vaultAudience", "audience"),
    ("vault-audit-type-unknown", {**VAULT, "vaultAuditType": "syslog"}, "vaultAuditType", "none, file, socket"),
    ("vault-audit-file-relative", {**VAULT, "vaultAuditTarget": "logs/audit.log"}, "vaultAuditTarget", "absolute file path"),
    ("vault-audit-socket-without-port", {**VAULT, "vaultAuditType": "socket", "vaultAuditTarget": "audit.example.com"}, "vaultAuditTarget", "host:port"),
    ("vault-reviewer-unknown", {**VAULT, "vaultTokenReviewer": "kubelet"}, "vaultTokenReviewer", "eso, vault"),
    ("vault-eso-reviewer-without-ca", {**VAULT, "vaultKubernetesCaCert": ""}, "vaultKubernetesCaCert", "required when vaultTokenReviewer is eso"),
    ("vault-ca-not-pem", {**VAULT, "vaultKubernetesCaCert": "MIIB"}, "vaultKubernetesCaCert", "PEM"),
    ("vault-ca-bundle-not-base64", {**VAULT, "vaultCaBundle": "not base64!"}, "vaultCaBundle", "base64"),
    ("vault-bound-cidr-host-bits", {**VAULT, "vaultTokenBoundCidrs": '["10.0.0.1/8"]'}, "vaultTokenBoundCidrs", "no host bits"),
    ("vault-bound-cidr-not-cidr", {**VAULT, "vaultTokenBoundCidrs": '["anywhere"]'}, "vaultTokenBoundCidrs", "CIDR"),
    ("vault-adopt-not-bool", {**VAULT, "vaultAdoptKvMount": "maybe"}, "vaultAdoptKvMount", "true or false"),
    ("gcp-project-missing", {**GCP, "gcpProject": ""}, "gcpProject", "missing"),
    ("gcp-project-upper-case", {**GCP, "gcpProject": "Aragora-Prod"}, "gcpProject", "project id"),
    ("gcp-project-too-short", {**GCP, "gcpProject": "abc"}, "gcpProject", "project id"),
    ("gcp-identity-unknown", {**GCP, "gcpIdentity": "keys"}, "gcpIdentity", "gsa, direct"),
    ("gcp-direct-without-number", {**GCP, "gcpIdentity": "direct"}, "gcpProjectNumber", "direct"),
    ("gcp-project-number-letters", {**GCP, "gcpProjectNumber": "12ab34"}, "gcpProjectNumber", "digits"),
    ("gcp-regions-twice", {**GCP, "gcpReplicaLocations": '["us-east1", "us-east1"]'}, "gcpReplicaLocations", "twice"),
    ("gcp-region-not-a-region", {**GCP, "gcpReplicaLocations": '["mars"]'}, "gcpReplicaLocations", "GCP regions"),
    ("gcp-regions-not-a-list", {**GCP, "gcpReplicaLocations": "us-east1"}, "gcpReplicaLocations", "not a list"),
    ("gcp-kms-key-malformed", {**GCP, "gcpKmsKeyName": "my-key"}, "gcpKmsKeyName", "Cloud KMS key"),
    ("gcp-kms-key-regional-with-auto-replication", {**GCP, "gcpKmsKeyName": "projects/kms-proj-1/locations/us-east1/keyRings/r/cryptoKeys/k"}, "gcpKmsKeyName", "global"),
    ("gcp-cluster-name-without-location", {**GCP, "gcpClusterName": "aragora"}, "gcpClusterLocation", "gcpClusterName"),
    ("gcp-audit-logs-yes", {**GCP, "gcpAuditLogs": "yes"}, "gcpAuditLogs", "true or false"),
    ("eks-cluster-name-with-space", {"awsIdentity": "pod-identity", "awsEksClusterName": "my cluster"}, "awsEksClusterName", "EKS cluster name"),
    ("jwt-rotation-upper-case", {"jwtRotation": "Q4"}, "jwtRotation", "label"),
    ("kube-context-unicode", {"kubeContext": "aragora-prodüction"}, "kubeContext", "context"),
]

# Keys in any namespace: credentials, near misses of the project's, provider config, secure values.
NAMESPACE_BAD = [
    ("vault-token-plaintext", "vault:token", "hvs." + "EXAMPLEonlyNOTaTOKEN", "credential"),
    ("aws-secret-key-plaintext", "aws:secretKey", "example-secret-key", "credential"),
    ("aws-access-key-plaintext", "aws:accessKey", "AKIA" + "EXAMPLEEXAMPLE00", "credential"),
    ("aws-session-token", "aws:token", "IQoEXAMPLE", "credential"),
    ("gcp-credentials", "gcp:credentials", '{"type": "service_account"}', "credential"),
    ("kubeconfig-content-in-provider-config", "kubernetes:kubeconfig", "apiVersion: v1", "credential"),
    ("vault-auth-login", "vault:authLogin", "x", "credential"),
    ("secure-credential", "vault:token", {"secure": "v1:AAAA"}, "secure value"),
    ("secure-project-value", f"{P}:kubeContext", {"secure": "v1:AAAA"}, "secure value"),
    ("namespace-near-miss-singular", "aragora-secret:kubeContext", "x", "is not aragora-secrets"),
    ("namespace-near-miss-case", "Aragora-Secrets:kubeContext", "x", "is not aragora-secrets"),
    ("namespace-near-miss-underscore", "aragora_secrets:kubeContext", "x", "is not aragora-secrets"),
    ("provider-region", "aws:region", "us-east-1", "provider configuration"),
    ("provider-vault-address", "vault:address", "https://v", "provider configuration"),
    ("provider-kube-context", "kubernetes:context", "prod", "provider configuration"),
    ("provider-gcp-project", "gcp:project", "p", "provider configuration"),
    ("not-namespaced", "kubeContext", "aragora", "not namespaced"),
]

# Stack files as text: what a YAML library would quietly accept, refused as the Pulumi CLI refuses it.
RAW_BAD = [
    ("duplicate-key", "  aragora-secrets:kubeContext: elsewhere\n", "twice"),
    ("duplicate-config-block", "config:\n  aragora-secrets:refreshInterval: 1m\n", "twice"),
    ("anchor", "  aragora-secrets:jwtRotation: &marker initial\n", "anchor"),
    ("alias-bomb", "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n", "anchor"),
    ("explicit-bool-tag", "  aragora-secrets:awaitSync: !!bool yes\n", "tag"),
    ("python-tag", "  aragora-secrets:jwtRotation: !!python/object:os.system ls\n", "tag"),
    ("tab-indentation", "\taragora-secrets:esoReplicas: 2\n", "not valid YAML"),
    ("second-document", "---\nconfig: {}\n", "not valid YAML"),
    ("yaml-1.1-on", "  aragora-secrets:awaitSync: on\n", "true or false"),
    ("yaml-1.1-yes", "  aragora-secrets:awaitSync: yes\n", "true or false"),
    ("yaml-1.1-off", "  aragora-secrets:awaitSync: off\n", "true or false"),
    ("float-integer", "  aragora-secrets:awsRecoveryWindowDays: 8.0\n", "integer"),
    ("hex-integer", "  aragora-secrets:awsRecoveryWindowDays: 0x8\n", "integer"),
    ("underscore-integer", "  aragora-secrets:awsRecoveryWindowDays: 0_8\n", "integer"),
    ("exponent-integer", "  aragora-secrets:awsRecoveryWindowDays: 8e0\n", "integer"),
    ("octal-recovery-window", "  aragora-secrets:awsRecoveryWindowDays: 0o30\n", "integer"),
]


def _raw(**changes) -> dict[str, str]:
    raw = config.project_keys(stackfiles.stack_config(BASE_STACK, BASE_FILE))
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


def run_plan(document: dict) -> tuple[int, str, list[str]]:
    """``(exit status, stderr, resources declared)`` of the plan command for a stack file holding ``document``."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"Pulumi.{BASE_STACK}.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True))
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            status = plan_cmd.main(["--stack", BASE_STACK, "--config-file", str(path)])
        try:
            declared = recorder.record(BASE_STACK, path).declared
        except ConfigError:
            declared = []  # the file itself was refused: nothing ran
    return status, err.getvalue(), declared


def assert_rejected(stack_config: dict, key: str | None = None) -> None:
    status, err, declared = run_plan({"config": stack_config})
    assert status == 2, (stack_config, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert declared == [], declared
    if key is not None:
        assert lines[0].startswith(f"error: {P}:{key}:"), lines[0]
    else:
        assert lines[0].startswith("error: "), lines[0]


NAMED = len(BAD) + len(NAMESPACE_BAD) + len(RAW_BAD) + 6  # + the file-level cases below


def test_there_are_over_a_hundred_named_bad_configs_and_the_readme_says_how_many():
    names = [c[0] for c in (*BAD, *NAMESPACE_BAD, *RAW_BAD)]
    assert len(names) == len(set(names)) and NAMED >= 100
    assert f"{NAMED} named bad configs" in (stackfiles.ROOT / "docs" / "security.md").read_text()


@pytest.mark.parametrize(("key", "value", "words"), [c[1:] for c in NAMESPACE_BAD], ids=[c[0] for c in NAMESPACE_BAD])
def test_a_key_outside_the_project_namespace_or_a_credential_is_refused_naming_it(key, value, words):
    status, err, declared = run_plan({"config": {**BASE, key: value}})
    assert status == 2 and declared == [] and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {key}:") and words in line, line


def test_the_one_allowed_provider_key_is_accepted():
    status, err, _ = run_plan({"config": {**BASE, "pulumi:disable-default-providers": ["*"]}})
    assert status == 0, err


def _run_text(text: str) -> tuple[int, str, list[str]]:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"Pulumi.{BASE_STACK}.yaml"
        path.write_text(text, encoding="utf-8") if isinstance(text, str) else path.write_bytes(text)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = plan_cmd.main(["--stack", BASE_STACK, "--config-file", str(path)])
        try:
            declared = recorder.record(BASE_STACK, path).declared
        except ConfigError:
            declared = []
    return status, err.getvalue(), declared


BASE_TEXT = (BASE_FILE or stackfiles.stack_file(BASE_STACK)).read_text()


@pytest.mark.parametrize(("addition", "words"), [c[1:] for c in RAW_BAD], ids=[c[0] for c in RAW_BAD])
def test_a_stack_file_the_cli_would_refuse_is_refused_in_one_line(addition, words):
    text = BASE_TEXT + addition
    if addition.startswith(f"  {P}:") and words != "twice":
        assert addition.split(":")[1] not in BASE_TEXT  # a new key, not a duplicate: the value rule speaks
    status, err, declared = _run_text(text)
    assert status == 2 and declared == [] and "Traceback" not in err, err
    (line,) = err.strip().splitlines()
    assert words in line, line


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(b"config:\n  aragora-secrets:kubeContext: \xff\xfe\n", "not valid YAML", id="not-utf-8"),
        pytest.param("# " + "x" * 70_000 + "\n" + BASE_TEXT, "larger than 64 KiB", id="too-large"),
        pytest.param("", "kubeContext: missing", id="empty"),
        pytest.param("- a\n- list\n", "not a mapping", id="a-list"),
        pytest.param("config:\n  - a\n", "not a mapping", id="config-a-list"),
    ],
)
def test_a_stack_file_that_is_unreadable_empty_not_a_mapping_or_too_large_exits_2_in_one_line(content, words):
    status, err, declared = _run_text(content)
    assert status == 2 and declared == [] and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert words in line, line


@pytest.mark.parametrize(("changes", "key", "words"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_named_bad_config_is_rejected_in_one_line_naming_the_key(changes, key, words):
    with pytest.raises(ConfigError) as err:
        config.parse(_raw(**changes), BASE_STACK)
    message = str(err.value)
    assert message.startswith(f"{P}:{key}:"), message
    assert words in message, message
    assert "\n" not in message


@pytest.mark.parametrize(("changes", "key"), [c[1:3] for c in BAD], ids=[c[0] for c in BAD])
def test_named_bad_config_exits_2_through_the_plan_command(changes, key):
    stack_config = dict(BASE)
    for k, v in changes.items():
        if v is None:
            stack_config.pop(f"{P}:{k}", None)
        else:
            stack_config[f"{P}:{k}"] = v
    assert_rejected(stack_config, key)


def test_the_valid_base_config_declares_resources():
    status, err, declared = run_plan({"config": dict(BASE)})
    assert status == 0, err
    assert "kubernetes:helm.sh/v3:Release" in declared


# --- generated -------------------------------------------------------------------------

junk_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.printable, min_size=2000, max_size=5000),
    st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x2FFF), min_size=1, max_size=30),
)
junk_value = st.one_of(
    junk_text,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=10), max_size=4),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
)
newline_suffixed = st.sampled_from(["\n", "\r\n", " ", "\t"])

# Values invalid for a key whatever else the config says.
INVALID = {
    "backend": st.text(min_size=1, max_size=20).filter(lambda s: s not in ("aws", "vault", "gcp")),
    "refreshInterval": st.one_of(st.sampled_from(["59s", "25h", "1d", "1 h", "-5m", "0s"]), st.integers(0, 10**6).map(str)),
    "awsAccountId": st.one_of(st.from_regex(r"\A(\d{1,11}|\d{13,20}|[a-z]{12})\Z"), newline_suffixed.map(lambda s: ACCOUNT + s)),
    "awsRegion": st.from_regex(r"\A[A-Z]{2}-[a-z]+-\d\Z|\A[a-z]+\Z"),
    "awsOidcProviderArn": st.sampled_from([
        f"arn:aws:iam::{ACCOUNT}:role/x",
        f"oidc.eks.{REGION}.amazonaws.com/id/{OIDC_ID}",
        oidc().replace("provider/oidc", "provider/https://oidc"),
    ]),
    "esoChartVersion": st.sampled_from(["latest", "~2.9", "2.9", "v2.9.0", "0.17.0", "1.0.0", "", "2.9.0\n"]),
    "esoReplicas": st.one_of(st.integers(-5, 0).map(str), st.integers(6, 10**9).map(str), st.just("two"), st.just("2.0")),
    "awsRecoveryWindowDays": st.one_of(st.integers(-10, 6).map(str), st.integers(31, 10**6).map(str)),
    "jwtRotation": st.sampled_from(["Not A Label", "UPPER", "-leading", "x" * 70, "a/b", "a\n"]),
    "awaitSync": st.sampled_from(["maybe", "2", "yes please", "on", "off", "yes", "True", "1"]),
    "awsIdentity": st.sampled_from(["keys", "IRSA", "static"]),
    "kubeContext": newline_suffixed.map(lambda s: "aragora" + s),
}


# Sized for a one-minute suite: every key of INVALID is drawn several times per run,
# and the named cases above pin the known classes.
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(sorted(INVALID)), data=st.data())
def test_an_invalid_value_is_rejected_naming_its_key(key, data):
    assert_rejected({**BASE, f"{P}:{key}": data.draw(INVALID[key])}, key)


REQUIRED_HERE = ["kubeContext", "awsRegion", "awsAccountId", "awsOidcProviderArn"]


@settings(max_examples=25, deadline=None)
@given(key=st.sampled_from(REQUIRED_HERE))
def test_a_missing_required_key_is_rejected_naming_it(key):
    assert_rejected({k: v for k, v in BASE.items() if k != f"{P}:{key}"}, key)


@settings(max_examples=20, deadline=None)
@given(key=st.text(min_size=1, max_size=30).filter(lambda k: k not in DECLARED and ":" not in k), value=junk_value)
def test_an_unknown_key_is_rejected(key, value):
    status, err, declared = run_plan({"config": {**BASE, f"{P}:{key}": value}})
    assert status == 2 and declared == [] and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "unknown key" in err or "was removed" in err


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(DECLARED), value=junk_value)
def test_any_value_for_any_key_renders_or_fails_in_one_line(key, value):
    status, err, declared = run_plan({"config": {**BASE, f"{P}:{key}": value}})
    assert "Traceback" not in err
    if status == 0:
        assert declared
    else:
        assert status == 2, err
        assert declared == []
        (line,) = err.strip().splitlines()
        assert line.startswith(f"error: {P}:"), line


@settings(max_examples=20, deadline=None)
@given(document=st.one_of(junk_value, st.lists(junk_value, max_size=3)))
def test_a_stack_file_that_is_not_a_config_mapping_exits_2(document):
    status, err, _ = run_plan({"config": document} if not isinstance(document, dict) else document)
    assert status == 2 and "Traceback" not in err


def test_a_missing_config_file_exits_2_in_one_line(tmp_path, capsys):
    assert plan_cmd.main(["--stack", BASE_STACK, "--config-file", str(tmp_path / "nowhere.yaml")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not found" in err


def test_a_config_file_that_is_a_directory_exits_2_in_one_line(tmp_path, capsys):
    assert plan_cmd.main(["--stack", BASE_STACK, "--config-file", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is a directory" in err

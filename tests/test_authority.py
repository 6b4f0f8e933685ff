"""Separation by authority, not by spelling; no protection that can be silently void; no credential in
disguise; every value that reaches another tool valid for it. Each case is a mistake or an attack a
second review found passing; each is refused in one line naming the key, before anything is declared."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import shutil
import subprocess
from functools import cache

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import example, given, settings
from hypothesis import strategies as st

from infra import config, separation, stackfiles
from infra.backends.aws.settings import known_regions, partition_of
from infra.backends.vault.settings import canonical_server
from infra.fields import PROJECT, ConfigError
from stacktools import plan as plan_cmd
from stacktools import plandiff, recorder
from tests.support import PLANS, backend_of, plans_of, render_named, run_main

AWS_NAME = plans_of("aws")[0]
VAULT_NAME = plans_of("vault")[0]
GCP_NAME = plans_of("gcp")[0]


@cache
def _base(name: str) -> dict:
    stack, config_file = PLANS[name]
    return config.project_keys(stackfiles.stack_config(stack, config_file))


def _raw(name: str, **changes) -> dict:
    return {**_base(name), **{k: stackfiles.encode_value(v) for k, v in changes.items()}}


@cache
def cluster_ca(cluster: str) -> str:
    """A self-signed CA certificate (PEM) of its own for ``cluster``: one CA is one cluster."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cluster)])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    builder = builder.serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
    cert = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _parse(name: str, **changes) -> config.StackConfig:
    if backend_of(name) == "vault" and "vaultKubernetesCaCert" not in changes and "kubeContext" in changes:
        # Each simulated environment's cluster has its own CA, as real clusters do.
        changes["vaultKubernetesCaCert"] = cluster_ca(changes["kubeContext"])
    return config.parse(_raw(name, **changes), PLANS[name][0])


def _error(name: str, **changes) -> str | None:
    try:
        _parse(name, **changes)
    except ConfigError as err:
        return str(err)
    return None


def _refused(name: str, key: str, *words: str, **changes) -> str:
    with pytest.raises(ConfigError) as err:
        _parse(name, **changes)
    message = str(err.value)
    assert message.startswith(f"{PROJECT}:{key}: ") and "\n" not in message, message
    assert all(w in message for w in words), message
    return message


AWS = _parse(AWS_NAME)
ACCOUNT, REGION = AWS.backend.account_id, AWS.backend.region
ISSUER = AWS.backend.trust.issuer
VAULT_CFG = _parse(VAULT_NAME)


def _oidc(account: str, issuer: str = ISSUER, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:oidc-provider/{issuer}"


# --- claims compare authorities ------------------------------------------------------------------


def _conflict(mine: config.StackConfig, other: config.StackConfig) -> ConfigError | None:
    try:
        separation.check("mine", config.claims(mine), {"other": config.claims(other)})
    except ConfigError as err:
        return err
    return None


@given(st.sampled_from(["111111111111", "222222222222", "999988887777"]), st.sampled_from(["111111111111", "444455556666"]))
@settings(max_examples=12, deadline=None, derandomize=True)
def test_one_oidc_issuer_is_one_claim_whichever_account_registers_its_provider(account_a, account_b):
    a = _parse(AWS_NAME, awsAccountId=account_a, awsOidcProviderArn=_oidc(account_a), awsDeployerRoleArn="", kubeContext="ctx-a")
    b = _parse(AWS_NAME, awsAccountId=account_b, awsOidcProviderArn=_oidc(account_b), awsDeployerRoleArn="", kubeContext="ctx-b")
    err = _conflict(b, a)
    assert err is not None and str(err).startswith(f"{PROJECT}:awsOidcProviderArn: ")


def test_production_trusting_stagings_issuer_through_its_own_accounts_provider_is_refused():
    staging, production = config.from_stack_file("staging"), config.from_stack_file("production")
    careless = _parse(
        "production", awsOidcProviderArn=_oidc(production.backend.account_id, staging.backend.trust.issuer)
    )
    assert _conflict(careless, staging) is not None


def test_two_issuers_are_two_claims():
    other_issuer = ISSUER.rsplit("/", 1)[0] + "/" + "F" * 32
    a = _parse(AWS_NAME, kubeContext="ctx-a", awsDeployerRoleArn="")
    b = _parse(AWS_NAME, kubeContext="ctx-b", awsOidcProviderArn=_oidc(ACCOUNT, other_issuer), awsDeployerRoleArn="")
    assert _conflict(b, a) is None


SPELLINGS = st.tuples(
    st.sampled_from(["vault.example.com", "VAULT.Example.COM", "vault.example.com.", "Vault.Example.Com."]),
    st.sampled_from(["", ":8200"]),
    st.sampled_from(["", "/", "/v1", "/ui/"]),
)


@given(SPELLINGS, SPELLINGS)
@settings(max_examples=40, deadline=None, derandomize=True)
def test_a_vault_server_is_one_authority_however_it_is_spelt(one, two):
    def url(parts):
        host, port, path = parts
        return f"https://{host}{port}{path}"

    same = (one[1] or ":443") == (two[1] or ":443")
    assert (canonical_server("vaultAddress", url(one)) == canonical_server("vaultAddress", url(two))) is same


@pytest.mark.parametrize("address", ["https://vault.example.com:0", "https://vault.example.com:65536", "https://vault.example.com:99999", "https://:8200", "https://..:8200"])
@pytest.mark.parametrize("key", ["vaultAddress", "vaultKubernetesHost"])
def test_a_url_without_a_usable_host_or_port_is_refused_not_a_traceback(key, address):
    _refused(VAULT_NAME, key, "allowed:", **{key: address})


def test_two_auth_mounts_on_one_server_reviewing_one_cluster_are_refused_however_spelt():
    a = _parse(VAULT_NAME, kubeContext="ctx-a", vaultAuthMount="k8s-a", vaultKvMount="kv-a", vaultKubernetesHost="https://api.one.example.com")
    b = _parse(VAULT_NAME, kubeContext="ctx-b", vaultAuthMount="k8s-b", vaultKvMount="kv-b", vaultKubernetesHost="https://API.One.Example.com.:443/")
    err = _conflict(b, a)
    assert err is not None and str(err).startswith(f"{PROJECT}:vaultKubernetesHost: ")


def test_the_in_cluster_api_name_is_the_cluster_vault_runs_in_one_per_server():
    local = {"vaultKubernetesHost": "https://kubernetes.default.svc"}
    a = _parse(VAULT_NAME, kubeContext="ctx-a", vaultAuthMount="k8s-a", vaultKvMount="kv-a", vaultAddress="https://vault-a.example.com", **local)
    b = _parse(VAULT_NAME, kubeContext="ctx-b", vaultAuthMount="k8s-b", vaultKvMount="kv-b", vaultAddress="https://vault-b.example.com", **local)
    assert _conflict(b, a) is None  # two servers, each in its own cluster
    c = _parse(VAULT_NAME, kubeContext="ctx-c", vaultAuthMount="k8s-c", vaultKvMount="kv-c", vaultAddress="https://VAULT-A.example.com.:443", **local)
    assert _conflict(c, a) is not None  # one server: one cluster reviewed by two mounts


@pytest.mark.parametrize(("owner_adopts", "other_adopts", "refused"), [(False, True, True), (True, False, True), (True, True, False), (False, False, True)])
def test_a_kv_mount_one_stack_owns_is_adopted_by_no_other(owner_adopts, other_adopts, refused):
    common = {"vaultKvMount": "shared-kv", "vaultAddress": "https://vault.shared.example.com"}
    a = _parse(VAULT_NAME, kubeContext="ctx-a", vaultAuthMount="k8s-a", vaultKubernetesHost="https://api.a.example", vaultAdoptKvMount=owner_adopts, **common)
    b = _parse(VAULT_NAME, kubeContext="ctx-b", vaultAuthMount="k8s-b", vaultKubernetesHost="https://api.b.example", vaultAdoptKvMount=other_adopts, **common)
    err = _conflict(b, a)
    assert (err is not None) is refused
    if refused:
        assert str(err).startswith(f"{PROJECT}:vaultKvMount: ")


@pytest.mark.parametrize(
    ("context", "ok"),
    [
        (f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/aragora", True),
        (f"arn:aws:eks:{REGION}:999999999999:cluster/aragora", False),
        (f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/aragora", REGION == "eu-west-1"),
        ("aragora-staging", True),
    ],
)
def test_an_eks_arn_context_must_name_the_stacks_own_account_and_region(context, ok):
    if ok:
        assert _parse(AWS_NAME, kubeContext=context).common.kube_context == context
    else:
        _refused(AWS_NAME, "kubeContext", "EKS cluster", ACCOUNT, kubeContext=context)


# --- protections that could be silently void -----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("awsVpcEndpointIds", ["vpce-0abc12345def67890"]),
        ("awsSecretWriterArns", [f"arn:aws:iam::{ACCOUNT}:role/operator"]),
        ("awsVpcId", "vpc-0abc12345def67890"),
        ("awsVpcSubnetIds", ["subnet-0abc12345def67890"]),
        ("awsVpcSecurityGroupIds", ["sg-0abc12345def67890"]),
    ],
)
def test_isolation_settings_without_the_isolation_mode_are_refused_not_ignored(key, value):
    _refused(AWS_NAME, key, "awsVpcEndpoints is none", **{key: value})


def test_esos_own_role_as_an_exempt_writer_is_refused():
    role = f"arn:aws:iam::{ACCOUNT}:role/aragora-{PLANS[AWS_NAME][0]}-eso"
    with pytest.raises(ConfigError, match=rf"^{PROJECT}:awsSecretWriterArns: .* is an ESO role of this project"):
        render_named(AWS_NAME, awsVpcEndpoints="existing", awsVpcEndpointIds=["vpce-0abc12345def67890"], awsSecretWriterArns=[role])


@pytest.mark.parametrize("env", ["own", "another"])
def test_an_eso_role_as_a_kms_key_administrator_is_refused(env):
    stack = PLANS[AWS_NAME][0] if env == "own" else "qa"
    with pytest.raises(ConfigError, match=rf"^{PROJECT}:awsKmsAdminArns: .* ESO role"):
        render_named(AWS_NAME, awsKmsAdminArns=[f"arn:aws:iam::{ACCOUNT}:role/aragora-{stack}-eso"])


@pytest.mark.parametrize(
    "action",
    ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret",
     "secretsmanager:UpdateSecretVersionStage", "secretsmanager:RotateSecret"],
)
def test_every_action_that_reads_or_changes_the_served_value_is_denied_outside_the_endpoints(action):
    plan = render_named(AWS_NAME, awsVpcEndpoints="existing", awsVpcEndpointIds=["vpce-0abc12345def67890"])
    for policy in plan.of_type("aws:secretsmanager/secretPolicy:SecretPolicy"):
        (deny,) = [s for s in json.loads(policy["inputs"]["policy"])["Statement"] if s["Effect"] == "Deny"]
        assert action in deny["Action"]


@pytest.mark.parametrize(
    "target",
    ["/dev/null", "/dev/stdout", "/vault/logs/../data/audit.log", "/vault/logs/./audit.log", "/vault/data/audit.log",
     "/vault/file/core/audit", "/opt/vault/data/audit.log", "/var/lib/vault/audit.log", "/proc/self/fd/1", "/vault/logs/"],
)
def test_an_audit_device_that_writes_nowhere_or_into_vaults_storage_is_refused(target):
    _refused(VAULT_NAME, "vaultAuditTarget", "allowed:", vaultAuditType="file", vaultAuditTarget=target)


@pytest.mark.parametrize("target", ["audit.example.com:0", "audit.example.com:70000"])
def test_an_audit_socket_port_out_of_range_is_refused(target):
    _refused(VAULT_NAME, "vaultAuditTarget", "1..65535", vaultAuditType="socket", vaultAuditTarget=target)


# --- credentials refused by kind, not by name ----------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        '{"apiVersion":"v1","users":[{"user":{"token":"abc"}}]}',
        "apiVersion: v1\nusers:\n- user: {token: abc}\n",
        "apiVersion: v1",
        "[]",
        "/path with spaces/config",
        "C:\\kube\\config",
    ],
)
def test_kubeconfig_is_a_path_never_its_contents(value):
    _refused(AWS_NAME, "kubeconfig", "path", kubeconfig=value)


def test_a_kubeconfig_path_is_accepted():
    assert _parse(AWS_NAME, kubeconfig="~/.kube/aragora-staging").common.kubeconfig == "~/.kube/aragora-staging"


CA = VAULT_CFG.backend.kubernetes_ca_cert
# Assembled at run time, so the tree's secret scan stays clean (it flags the literal, rightly).
KEY_PEM = "-----BEGIN " + "PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END " + "PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("vaultCaBundle", base64.b64encode(KEY_PEM.encode()).decode(), "private key"),
        ("vaultCaBundle", base64.b64encode((CA + KEY_PEM).encode()).decode(), "private key"),
        ("vaultCaBundle", base64.b64encode(b"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n").decode(), "certificates"),
        ("vaultCaBundle", base64.b64encode(b"hello").decode(), "certificates"),
        ("vaultKubernetesCaCert", "-----BEGIN CERTIFICATE-----\nMIIBkjCCATegAwIBAgIBAT\n-----END CERTIFICATE-----\n", "X.509"),
    ],
)
def test_ca_fields_take_x509_certificates_only(key, value, words):
    _refused(VAULT_NAME, key, words, **{key: value})


def test_a_real_ca_bundle_is_accepted():
    bundle = base64.b64encode(CA.encode()).decode()
    assert _parse(VAULT_NAME, vaultCaBundle=bundle).backend.ca_bundle == bundle


@pytest.mark.parametrize("reviewer", ["vault", "eso"])
@pytest.mark.parametrize(
    "audience", ["https://kubernetes.default.svc", "https://kubernetes.default.svc.cluster.local", "kubernetes", "API-SERVER-HOST"]
)
def test_a_vault_audience_the_api_server_accepts_is_refused(reviewer, audience):
    host = VAULT_CFG.backend.kubernetes_host
    value = host if audience == "API-SERVER-HOST" else audience
    _refused(VAULT_NAME, "vaultAudience", "API server", vaultTokenReviewer=reviewer, vaultAudience=value)


# --- values valid for the tools they reach -------------------------------------------------------


@pytest.mark.parametrize(
    "label", ["__name__=x", "__meta_x=y", "alertname=Other", "severity=info", "team={{ $labels.x }}", "team=a b", "team=$x", 'team="x"']
)
def test_an_alert_label_promtool_or_routing_would_reject_is_refused(label):
    _refused(AWS_NAME, "alertLabels", "allowed:", alertLabels=[label])


@pytest.mark.parametrize("url", ["https://docs.example.com/{{ $labels.name }}", "https://docs.example.com/a b", "https://x/${y}"])
def test_a_runbook_url_with_template_text_is_refused(url):
    _refused(AWS_NAME, "alertRunbookUrl", "allowed:", alertRunbookUrl=url)


def test_promtool_accepts_the_rule_with_every_kind_of_accepted_label(tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: `make test` installs Debian's prometheus package"
    labels = ["team=platform", "_x=a.b:c/d@e+f-g", "Z9=1", "routing_key=pager/critical"]
    plan = render_named(AWS_NAME, prometheusOperator=True, alertLabels=labels, alertRunbookUrl="https://x.example/r?a=1&b=2#frag")
    rule = plan.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")["inputs"]["spec"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule))
    result = subprocess.run([promtool, "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("mount", ["sys", "sys/kv", "auth", "identity", "cubbyhole", "audit"])
def test_a_kv_mount_on_a_path_vault_reserves_is_refused(mount):
    _refused(VAULT_NAME, "vaultKvMount", "reserves", vaultKvMount=mount)


@pytest.mark.parametrize("region", ["us-east-9", "eu-moon-1", "us-gov-east-7"])
def test_a_region_the_pinned_provider_does_not_know_is_refused(region):
    oidc = f"arn:{partition_of(region)}:iam::{ACCOUNT}:oidc-provider/oidc.eks.{region}.amazonaws.com/id/{'A' * 32}"
    _refused(AWS_NAME, "awsRegion", "pinned AWS provider", awsRegion=region, awsOidcProviderArn=oidc, awsDeployerRoleArn="")


@pytest.mark.parametrize("region", sorted(known_regions()))
def test_every_region_the_pinned_provider_knows_is_accepted_or_refused_in_one_line(region):
    partition = partition_of(region)
    suffix = ".cn" if partition == "aws-cn" else ""
    oidc = f"arn:{partition}:iam::{ACCOUNT}:oidc-provider/oidc.eks.{region}.amazonaws.com{suffix}/id/{'A' * 32}"
    if partition in ("aws", "aws-cn", "aws-us-gov"):
        assert _parse(AWS_NAME, awsRegion=region, awsOidcProviderArn=oidc, awsDeployerRoleArn="").backend.region == region
    else:  # a partition whose ARN and issuer formats this project does not know yet (e.g. the EU sovereign cloud)
        message = _error(AWS_NAME, awsRegion=region, awsOidcProviderArn=oidc, awsDeployerRoleArn="")
        assert message is None or (message.startswith(f"{PROJECT}:aws") and "\n" not in message)


def test_a_one_letter_environment_still_gets_a_valid_google_service_account_id():
    from infra.backends.gcp.declare import gsa_account_id

    assert len(gsa_account_id("x")) >= 6 and gsa_account_id("staging") == "eso-staging"  # longer ones never renamed
    assert all(6 <= len(gsa_account_id(e)) <= 30 for e in ("a", "ab", "abc", "x" * 26))


# --- no silent omissions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key", "value", "owner"),
    [
        (AWS_NAME, "gcpProject", "aragora-other-1", "gcp"),
        (AWS_NAME, "vaultAddress", "https://vault.example.com", "vault"),
        (AWS_NAME, "vaultAdoptKvMount", True, "vault"),
        (VAULT_NAME, "awsRegion", "eu-west-1", "aws"),
        (VAULT_NAME, "awsVpcEndpoints", "create", "aws"),
        (GCP_NAME, "vaultKvMount", "kv-x", "vault"),
    ],
)
def test_a_key_of_a_backend_the_stack_does_not_use_is_refused_naming_its_backend(name, key, value, owner):
    _refused(name, key, f"key of backend {owner}", f"backend is {backend_of(name)}", **{key: value})


def test_another_backends_key_left_at_its_default_is_accepted():
    default = stackfiles.declared_config()["gcpIdentity"]["default"]
    assert _parse(AWS_NAME, gcpIdentity=default).backend.name == "aws"


def test_a_stack_file_that_imports_esc_environments_is_refused(tmp_path):
    path = tmp_path / "Pulumi.qa.yaml"
    path.write_text("environment:\n  - aragora/qa\nconfig:\n  aragora-secrets:kubeContext: qa\n")
    with pytest.raises(ConfigError, match="imports Pulumi ESC environments"):
        stackfiles.stack_config("qa", path)


# --- the diff shows every change ------------------------------------------------------------------


def test_a_changed_secret_input_shows_as_a_changed_fingerprint_never_the_value(tmp_path):
    stack = PLANS[AWS_NAME][0]
    base = run_main(plan_cmd.main, ["--stack", stack, "--out", str(tmp_path / "base")])
    assert base.returncode == 0, base.stderr
    key = (tmp_path / "base" / recorder.KEY_FILE)
    assert key.stat().st_mode & 0o077 == 0 and len(bytes.fromhex(key.read_text())) == 32
    old = recorder.render(stack, overrides={"kubeconfig": "/home/ops/.kube/staging-old"}, fingerprint_key=bytes.fromhex(key.read_text()))
    new = recorder.render(stack, overrides={"kubeconfig": "/home/ops/.kube/staging-new"}, fingerprint_key=bytes.fromhex(key.read_text()))
    text = plandiff.render_text(plandiff.diff(old.resources, new.resources))
    assert re.search(r'^    (~|\+-) kubeconfig: "\[secret [0-9a-f]{12}\]" => "\[secret [0-9a-f]{12}\]"$', text, re.M), text
    assert "staging-old" not in text and "staging-new" not in text


def test_a_fingerprint_is_keyed_so_a_guessed_value_cannot_be_confirmed_from_a_bare_hash():
    stack, guess = PLANS[AWS_NAME][0], "/home/ops/.kube/config"
    unkeyed = hashlib.sha256(json.dumps(guess).encode()).hexdigest()[:12]
    shown = {json.dumps(recorder.render(stack, overrides={"kubeconfig": guess}, fingerprint_key=k).resources) for k in (b"a" * 32, b"b" * 32)}
    assert len(shown) == 2 and not any(unkeyed in s for s in shown)  # two keys, two fingerprints, never the bare hash
    assert "[secret]" in json.dumps(recorder.render(stack, overrides={"kubeconfig": guess}).resources)  # no key: no digest


def test_a_replacement_that_would_collide_with_the_old_object_is_flagged():
    base = render_named(VAULT_NAME)
    head = render_named(VAULT_NAME, vaultAuditTarget="/vault/logs/elsewhere.log")
    (change,) = [c for c in plandiff.diff(base.resources, head.resources).update if c.type == "vault:index/audit:Audit"]
    assert change.replace and any(n.startswith("cannot succeed as planned: both would hold path") for n in change.notes)


# --- one project number per project -----------------------------------------------------------------

POOL = {"gcpIdentity": "direct", "gcpProjectNumber": "111111111111", "gcpClusterProject": "aragora-pool-proj"}


def test_the_pool_principal_names_the_cluster_projects_number_not_the_secrets_projects():
    plan = render_named(GCP_NAME, **POOL, gcpClusterProjectNumber="222222222222")
    members = {r["inputs"]["member"] for r in plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")}
    assert members and all("/projects/222222222222/" in m and "aragora-pool-proj.svc.id.goog" in m for m in members)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({**POOL}, "missing"),
        ({**POOL, "gcpClusterProjectNumber": "111111111111"}, "each project's own number"),
        ({"gcpClusterProjectNumber": "222222222222", "gcpClusterProject": ""}, "without a gcpClusterProject"),
    ],
)
def test_one_number_for_two_projects_is_refused(changes, words):
    _refused(GCP_NAME, "gcpClusterProjectNumber", words, **changes)


# --- a context that names a cluster names an authority ------------------------------------------------

ACCOUNTS = st.sampled_from([ACCOUNT, "999999999999", "111111111111"])
REGIONS = st.sampled_from(sorted(r for r in known_regions() if partition_of(r) == "aws"))


@given(ACCOUNTS, REGIONS, st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,20}", fullmatch=True))
@example(ACCOUNT, REGION, "aragora")  # accepted: both outcomes are always exercised
@example("999999999999", REGION, "aragora")
@settings(max_examples=40, deadline=None, derandomize=True)
def test_an_eks_context_is_accepted_exactly_when_it_names_the_stacks_own_account_and_region(account, region, cluster):
    context = f"arn:aws:eks:{region}:{account}:cluster/{cluster}"
    message = _error(AWS_NAME, kubeContext=context)
    assert (message is None) is (account == ACCOUNT and region == REGION), message
    if message:
        assert message.startswith(f"{PROJECT}:kubeContext: ")


GCP_CFG = _parse(GCP_NAME)


@given(
    st.sampled_from([GCP_CFG.backend.pool_project, "another-proj-1", "aragora-other-9"]),
    st.sampled_from(["us-east1", "europe-west4", "us-central1-a"]),
    st.sampled_from(["aragora", "shared", "c1"]),
)
@example(GCP_CFG.backend.pool_project, GCP_CFG.backend.cluster_location or "us-east1", GCP_CFG.backend.cluster_name or "aragora")
@example("another-proj-1", "us-east1", "aragora")
@settings(max_examples=30, deadline=None, derandomize=True)
def test_a_gke_context_must_name_the_stacks_own_cluster_project(project, location, cluster):
    context = f"gke_{project}_{location}_{cluster}"
    message = _error(GCP_NAME, kubeContext=context)
    own_project = project == GCP_CFG.backend.pool_project
    named = {"gcpClusterLocation": GCP_CFG.backend.cluster_location, "gcpClusterName": GCP_CFG.backend.cluster_name}
    same_cluster = all(not mine or mine == theirs for mine, theirs in zip(named.values(), (location, cluster), strict=True))
    assert (message is None) is (own_project and same_cluster), message

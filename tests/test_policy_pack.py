"""The CrossGuard rules: every shipped and example plan passes, every bad resource is reported."""

from __future__ import annotations

import copy
import importlib.util
import json

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

from components.eso_api import CLUSTER_SECRET_STORE_TYPE, EXTERNAL_SECRET_TYPE
from tests.support import PLANS as SHIPPED
from tests.support import ROOT, plans_of, render

# The pack's rules module, loaded from its file as the pack's own venv loads it (no sys.path patch).
_spec = importlib.util.spec_from_file_location("rules", ROOT / "policy/rules.py")
rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rules)

PLANS = {
    **{name: (stack, path, {}) for name, (stack, path) in SHIPPED.items()},
    **{
        f"{name}-pod-identity": (*SHIPPED[name], {"awsIdentity": "pod-identity", "awsEksClusterName": "aragora-example"})
        for name in plans_of("aws")
    },
}
FIRST = {backend: plans_of(backend)[0] for backend in ("aws", "vault", "gcp")}
AWS_STACK = PLANS[FIRST["aws"]][0]


def _args(r: dict) -> ResourceValidationArgs:
    opts = PolicyResourceOptions(
        protect=r["protect"], ignore_changes=[], delete_before_replace=None, aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[], parent=r["parent"],
    )
    return ResourceValidationArgs(r["type"], r["inputs"], r["urn"], r["name"], opts, None)


def violations(rule, r: dict) -> list[str]:
    found: list[str] = []
    rule.validate(_args(r), lambda message, urn=None: found.append(message))
    return found


def _one(plan_name: str, type_: str) -> dict:
    """A deep copy of the plan's first resource of ``type_``, to be broken by a test."""
    stack, config_file, overrides = PLANS[plan_name]
    return copy.deepcopy(render(stack, config_file, **overrides).of_type(type_)[0])


@pytest.mark.parametrize("plan_name", list(PLANS))
def test_every_shipped_and_example_plan_passes_every_rule(plan_name):
    stack, config_file, overrides = PLANS[plan_name]
    plan = render(stack, config_file, **overrides)
    for r in plan.resources:
        for rule in rules.RULES:
            assert violations(rule, r) == [], (rule.name, r["urn"])


def test_every_rule_is_mandatory_and_named():
    assert len({r.name for r in rules.RULES}) == len(rules.RULES) == 13
    assert {r.enforcement_level for r in rules.RULES} == {rules.MANDATORY}


def _with_policy(r: dict, key: str, mutate) -> dict:
    doc = json.loads(r["inputs"][key])
    mutate(doc)
    r["inputs"][key] = json.dumps(doc)
    return r


@pytest.mark.parametrize(
    ("case", "mutate", "expected"),
    [
        ("star-action", lambda d: d["Statement"][0].update(Action="*"), "wildcard action"),
        ("service-wildcard", lambda d: d["Statement"][0].update(Action="secretsmanager:*"), "wildcard action"),
        ("star-resource", lambda d: d["Statement"][0].update(Resource="*"), "Resource '*'"),
        ("other-env-arn", lambda d: d["Statement"][0].update(Resource=d["Statement"][0]["Resource"].replace(f"aragora/{AWS_STACK}/", "aragora/elsewhere/")), f"outside 'aragora/{AWS_STACK}/'"),
        ("decrypt-without-via-service", lambda d: d["Statement"][1].pop("Condition"), "kms:ViaService"),
        ("not-action", lambda d: d["Statement"][0].update(NotAction="iam:*"), "NotAction"),
    ],
)
def test_iam_rule_reports_bad_policies(case, mutate, expected):
    bad = _with_policy(_one(FIRST["aws"], "aws:iam/policy:Policy"), "policy", mutate)
    assert any(expected in v for v in violations(rules.iam_least_privilege, bad)), case


def _sub_key(d: dict) -> str:
    return next(k for k in d["Statement"][0]["Condition"]["StringEquals"] if k.endswith(":sub"))


@pytest.mark.parametrize(
    ("case", "mutate", "expected"),
    [
        ("no-sub", lambda d: d["Statement"][0]["Condition"]["StringEquals"].pop(_sub_key(d)), ":sub"),
        ("no-aud", lambda d: d["Statement"][0]["Condition"]["StringEquals"].pop(_sub_key(d).replace(":sub", ":aud")), ":aud"),
        ("wildcard-sa", lambda d: d["Statement"][0]["Condition"]["StringEquals"].update({_sub_key(d): "system:serviceaccount:external-secrets:*"}), ":sub"),
        ("string-like", lambda d: d["Statement"][0]["Condition"].update(StringLike={_sub_key(d): "system:serviceaccount:*"}), "StringLike"),
        ("no-condition", lambda d: d["Statement"][0].pop("Condition"), ":sub"),
    ],
)
def test_trust_rule_reports_loose_web_identity_trust(case, mutate, expected):
    bad = _with_policy(_one(FIRST["aws"], "aws:iam/role:Role"), "assumeRolePolicy", mutate)
    assert any(expected in v for v in violations(rules.irsa_trust_exact, bad)), case


@pytest.mark.parametrize(
    ("case", "change", "expected"),
    [
        ("aws-managed-key", {"kmsKeyId": "alias/aws/secretsmanager"}, "customer-managed"),
        ("no-key", {"kmsKeyId": None}, "customer-managed"),
        ("force-delete", {"recoveryWindowInDays": 0}, "at least 7"),
        ("unprotected", {"__protect": False}, "not protected"),
    ],
)
def test_secret_rule_reports_weak_secrets(case, change, expected):
    bad = _one(FIRST["aws"], "aws:secretsmanager/secret:Secret")
    for key, value in change.items():
        if key == "__protect":
            bad["protect"] = value
        else:
            bad["inputs"][key] = value
    assert any(expected in v for v in violations(rules.secretsmanager_secret_hardened, bad)), case


@pytest.mark.parametrize("type_", ["aws:secretsmanager/secretVersion:SecretVersion", "gcp:secretmanager/secretVersion:SecretVersion"])
def test_any_secret_version_is_reported(type_):
    bad = {"type": type_, "inputs": {"secretString": "[secret]"}, "urn": f"urn:pulumi:example::p::{type_}::v", "name": "v", "protect": False, "parent": None}
    assert violations(rules.no_secret_values, bad)


@pytest.mark.parametrize(
    ("type_", "inputs"),
    [
        ("gcp:projects/iAMMember:IAMMember", {"project": "p", "role": "roles/secretmanager.secretAccessor", "member": "serviceAccount:x"}),
        ("gcp:projects/iAMBinding:IAMBinding", {"project": "p", "role": "roles/secretmanager.secretAccessor", "members": ["serviceAccount:x"]}),
        ("gcp:projects/iAMPolicy:IAMPolicy", {"project": "p", "policyData": json.dumps({"bindings": [{"role": "roles/secretmanager.secretAccessor", "members": ["user:x"]}]})}),
    ],
)
def test_project_level_secret_accessor_is_reported(type_, inputs):
    bad = {"type": type_, "inputs": inputs, "urn": f"urn:pulumi:example::p::{type_}::b", "name": "b", "protect": False, "parent": None}
    assert violations(rules.gcp_no_project_secret_accessor, bad)


def test_gcp_secret_without_deletion_protection_is_reported():
    bad = _one(FIRST["gcp"], "gcp:secretmanager/secret:Secret")
    bad["inputs"]["deletionProtection"] = False
    assert violations(rules.gcp_secret_deletion_protection, bad)


@pytest.mark.parametrize("capability", ["create", "update", "patch", "delete", "sudo", "list"])
def test_vault_policy_with_a_write_or_list_capability_is_reported(capability):
    bad = _one(FIRST["vault"], "vault:index/policy:Policy")
    bad["inputs"]["policy"] = bad["inputs"]["policy"].replace('["read"]', f'["read", "{capability}"]', 1)
    assert any(capability in v for v in violations(rules.vault_policy_read_only, bad))


@pytest.mark.parametrize(("key", "value"), [("boundServiceAccountNames", ["*"]), ("boundServiceAccountNamespaces", ["*"]), ("boundServiceAccountNames", [])])
def test_vault_role_without_explicit_binding_is_reported(key, value):
    bad = _one(FIRST["vault"], "vault:kubernetes/authBackendRole:AuthBackendRole")
    bad["inputs"][key] = value
    assert violations(rules.vault_k8s_role_bound, bad)


@pytest.mark.parametrize("version", ["", "^2.9.0", "2.x", ">=2.9.0", "2.9"])
def test_unpinned_eso_chart_is_reported(version):
    bad = _one(FIRST["aws"], "kubernetes:helm.sh/v3:Release")
    bad["inputs"]["version"] = version
    assert violations(rules.eso_chart_pinned, bad)


def test_store_without_service_account_namespace_is_reported():
    bad = _one(FIRST["aws"], CLUSTER_SECRET_STORE_TYPE)
    del bad["inputs"]["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"]["namespace"]
    assert violations(rules.eso_store_sa_namespace, bad)


@pytest.mark.parametrize(
    "conditions",
    [None, [], [{}], [{"namespaces": []}], [{"namespaceSelector": {}}], [{"namespaceRegexes": [".*"]}],
     [{"namespaceRegexes": ["^ara.*$"]}], [{"namespaces": ["aragora"]}, {"namespaceSelector": {}}], [{"namespaces": ["Not_A_Name"]}]],
)
def test_unbounded_store_is_reported(conditions):
    bad = _one(FIRST["aws"], CLUSTER_SECRET_STORE_TYPE)
    if conditions is None:
        del bad["inputs"]["spec"]["conditions"]
    else:
        bad["inputs"]["spec"]["conditions"] = conditions
    assert violations(rules.eso_store_namespace_bound, bad)


@pytest.mark.parametrize(
    "conditions",
    [[{"namespaces": ["aragora", "other"]}], [{"namespaceSelector": {"matchLabels": {"team": "aragora"}}}], [{"namespaceRegexes": ["^aragora-[a-z]$"]}]],
)
def test_a_store_bounded_by_names_labels_or_anchored_regexes_passes(conditions):
    good = _one(FIRST["aws"], CLUSTER_SECRET_STORE_TYPE)
    good["inputs"]["spec"]["conditions"] = conditions
    assert violations(rules.eso_store_namespace_bound, good) == []


def _key_with(mutate) -> dict:
    key = _one(FIRST["aws"], "aws:kms/key:Key")
    doc = json.loads(key["inputs"]["policy"])
    mutate(doc)
    key["inputs"]["policy"] = json.dumps(doc)
    return key


@pytest.mark.parametrize(
    ("case", "mutate"),
    [
        ("kms-star", lambda d: d["Statement"][1].update(Action="kms:*")),
        ("use-without-via-service", lambda d: d["Statement"][2]["Condition"]["StringEquals"].pop("kms:ViaService")),
        ("use-without-caller-account", lambda d: d["Statement"][2]["Condition"]["StringEquals"].pop("kms:CallerAccount")),
        ("use-unconditioned", lambda d: d["Statement"][2].pop("Condition")),
        ("use-by-every-principal", lambda d: d["Statement"][2].update(Principal={"AWS": "*"})),
    ],
)
def test_a_loose_kms_key_policy_is_reported(case, mutate):
    assert violations(rules.kms_key_policy_explicit, _key_with(mutate)), case


def test_a_kms_key_without_a_policy_is_reported():
    key = _one(FIRST["aws"], "aws:kms/key:Key")
    del key["inputs"]["policy"]
    assert violations(rules.kms_key_policy_explicit, key)


@pytest.mark.parametrize("interval", ["30s", "25h", "0s", "soon"])
def test_external_secret_refresh_outside_1m_to_24h_is_reported(interval):
    bad = _one(FIRST["aws"], EXTERNAL_SECRET_TYPE)
    bad["inputs"]["spec"]["refreshInterval"] = interval
    assert violations(rules.eso_refresh_interval_bounded, bad)


def test_rules_import_without_building_the_pack():
    assert "PolicyPack(" not in (ROOT / "policy/rules.py").read_text()
    assert "PolicyPack(" in (ROOT / "policy/__main__.py").read_text()

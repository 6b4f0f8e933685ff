"""Who can do what, proven with a strict IAM evaluator over every document the AWS plans render.

The evaluator (``tests/iam_eval.py``) fails a condition whose key is absent,
as IAM does; it is checked on known answers first. Then, for every pair of
AWS environments deployed side by side: each ESO identity reads exactly its
own environment's secrets and decrypts its own key only through Secrets
Manager; with network isolation on, value reads come only through the
environment's VPC endpoint; key administrators never decrypt; trust policies
admit exactly ESO's service account of the environment's own cluster.
"""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest

from tests.iam_eval import ALLOW, DENY, IMPLICIT_DENY, Request, evaluate, kms, same_account
from tests.support import SETS, render

# --- the evaluator on known answers ------------------------------------------------------


def _doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


ALLOW_GET_IF_VPCE = _doc(
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}
)


def test_a_condition_key_absent_from_the_request_fails_the_condition():
    assert evaluate(ALLOW_GET_IF_VPCE, Request("secretsmanager:GetSecretValue")) == IMPLICIT_DENY
    assert evaluate(ALLOW_GET_IF_VPCE, Request("secretsmanager:GetSecretValue", context={"aws:SourceVpce": "vpce-1"})) == ALLOW
    assert evaluate(ALLOW_GET_IF_VPCE, Request("secretsmanager:GetSecretValue", context={"aws:SourceVpce": "vpce-2"})) == IMPLICIT_DENY


def test_if_exists_and_negated_operators_hold_when_the_key_is_absent():
    if_exists = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEqualsIfExists": {"k": "v"}}})
    assert evaluate(if_exists, Request("s3:GetObject")) == ALLOW
    deny_unless = _doc({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}})
    assert evaluate(deny_unless, Request("s3:GetObject")) == DENY
    assert evaluate(deny_unless, Request("s3:GetObject", context={"aws:SourceVpce": "vpce-1"})) == IMPLICIT_DENY


def test_actions_match_case_insensitively_and_resources_case_sensitively_with_wildcards():
    doc = _doc({"Effect": "Allow", "Action": "SecretsManager:Get*", "Resource": "arn:aws:secretsmanager:*:1:secret:aragora/a/*"})
    assert evaluate(doc, Request("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:r:1:secret:aragora/a/db-x1")) == ALLOW
    assert evaluate(doc, Request("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:r:1:secret:Aragora/a/db")) == IMPLICIT_DENY
    assert evaluate(doc, Request("secretsmanager:PutSecretValue", "arn:aws:secretsmanager:r:1:secret:aragora/a/db")) == IMPLICIT_DENY


def test_an_explicit_deny_wins_and_not_action_inverts_the_match():
    doc = _doc(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
    )
    assert evaluate(doc, Request("s3:GetObject")) == ALLOW
    assert evaluate(doc, Request("iam:PassRole")) == IMPLICIT_DENY
    assert evaluate(doc, Request("s3:DeleteObject")) == DENY


def test_an_account_root_principal_stands_for_that_accounts_principals_only():
    doc = _doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:Decrypt", "Resource": "*"})
    assert evaluate(doc, Request("kms:Decrypt", principal={"AWS": "arn:aws:iam::111111111111:role/x"})) == ALLOW
    assert evaluate(doc, Request("kms:Decrypt", principal={"AWS": "arn:aws:iam::222222222222:role/x"})) == IMPLICIT_DENY


def test_kms_grants_to_the_account_root_need_an_identity_policy_grants_to_the_principal_do_not():
    role = "arn:aws:iam::111111111111:role/x"
    key = _doc(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/admin"}, "Action": "kms:PutKeyPolicy", "Resource": "*"},
    )
    iam = _doc({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    assert kms(key, None, Request("kms:Decrypt", principal={"AWS": role})) == IMPLICIT_DENY
    assert kms(key, iam, Request("kms:Decrypt", principal={"AWS": role})) == ALLOW
    assert kms(key, None, Request("kms:PutKeyPolicy", principal={"AWS": "arn:aws:iam::111111111111:role/admin"})) == ALLOW


def test_an_unknown_condition_operator_is_an_error_not_a_pass():
    doc = _doc({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NumericLessThan": {"k": "1"}}})
    with pytest.raises(NotImplementedError):
        evaluate(doc, Request("s3:GetObject", context={"k": "0"}))


# --- the rendered documents ---------------------------------------------------------------

SECRET_ACTIONS = [
    "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret", "secretsmanager:ListSecrets",
    "secretsmanager:GetResourcePolicy", "secretsmanager:PutResourcePolicy", "secretsmanager:TagResource",
    "secretsmanager:BatchGetSecretValue", "secretsmanager:RestoreSecret", "secretsmanager:RotateSecret",
]
READ = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
OPERATOR = "operator-role"
ADMIN = "key-admin"


def _aws_envs() -> dict[str, tuple]:
    return {name: spec for name, spec in SETS["project"].items() if render(*spec).setting("backend") == "aws"}


def _isolation(stack: str, account: str) -> dict:
    return {
        "awsVpcEndpoints": "existing",
        "awsVpcEndpointIds": ["vpce-" + hashlib.sha256(stack.encode()).hexdigest()[:17]],
        "awsSecretWriterArns": [f"arn:aws:iam::{account}:role/{OPERATOR}"],
        "awsKmsAdminArns": [f"arn:aws:iam::{account}:role/{ADMIN}"],
    }


class Env:
    """One environment's rendered AWS documents."""

    def __init__(self, stack: str, config_file, isolated: bool, account: str | None = None):
        plain = render(stack, config_file)
        self.account = account or plain.setting("awsAccountId")
        self.region = plain.setting("awsRegion")
        overrides = {}
        if account:  # the same environment moved into `account` (its own cluster, so its own OIDC provider)
            arn = plain.setting("awsOidcProviderArn")
            overrides = {
                "awsAccountId": account,
                "awsOidcProviderArn": arn.replace(plain.setting("awsAccountId"), account),
                "awsDeployerRoleArn": plain.setting("awsDeployerRoleArn").replace(plain.setting("awsAccountId"), account),
            }
        if isolated:
            overrides |= _isolation(stack, self.account)
        plan = render(stack, config_file, **overrides)
        self.stack, self.isolated = stack, isolated
        self.role = plan.outputs["awsRoleArn"]
        self.identity = plan.one("aws:iam/policy:Policy")["inputs"]["policy"]
        self.trust = json.loads(plan.one("aws:iam/role:Role")["inputs"]["assumeRolePolicy"])
        self.key_arn = plan.outputs["awsKmsKeyArn"]
        self.key_policy = plan.one("aws:kms/key:Key")["inputs"]["policy"]
        self.secrets = list(plan.outputs["awsSecretArns"].values())
        self.resource_policies = {
            r["inputs"]["secretArn"]: r["inputs"]["policy"] for r in plan.of_type("aws:secretsmanager/secretPolicy:SecretPolicy")
        }
        self.endpoints = plan.outputs.get("awsSecretsManagerEndpointIds", [])
        self.oidc = plan.setting("awsOidcProviderArn")

    def caller(self, principal: str, *, via_endpoint: bool) -> dict:
        context = {"aws:PrincipalArn": principal, "aws:PrincipalAccount": self.account, "aws:PrincipalIsAWSService": "false"}
        if via_endpoint and self.endpoints:
            context["aws:SourceVpce"] = self.endpoints[0]
        return context


SHARED_ACCOUNT = "999900001111"


def _pairs(isolated: bool, shared_account: bool = False):
    account = SHARED_ACCOUNT if shared_account else None
    envs = {name: Env(*spec, isolated, account) for name, spec in _aws_envs().items()}
    return [pytest.param(envs[a], envs[b], id=f"{a}->{b}") for a, b in itertools.product(envs, repeat=2)]


# Separate accounts (as shipped) and one account for every environment (allowed
# with distinct clusters): the prefix and exact ARNs must keep them apart alone.
LAYOUTS = [
    pytest.param(False, False, id="own-accounts"),
    pytest.param(True, False, id="own-accounts-vpc-endpoints"),
    pytest.param(False, True, id="one-account"),
    pytest.param(True, True, id="one-account-vpc-endpoints"),
]


@pytest.mark.parametrize(("isolated", "shared_account"), LAYOUTS)
def test_each_eso_identity_reads_exactly_its_own_environments_secrets(isolated, shared_account):
    pairs = _pairs(isolated, shared_account)
    assert len(pairs) >= 4
    checked = 0
    for param in pairs:
        own, target = param.values
        for arn, action, via_endpoint in itertools.product(target.secrets, SECRET_ACTIONS, (True, False)):
            request = Request(action, arn, {"AWS": own.role}, own.caller(own.role, via_endpoint=via_endpoint))
            if own.account == target.account:
                result = same_account(own.identity, target.resource_policies.get(arn), request)
            else:  # across accounts both sides must allow
                result = ALLOW if evaluate(own.identity, request) == ALLOW and evaluate(target.resource_policies.get(arn, _doc()), request) == ALLOW else IMPLICIT_DENY
            through_network = via_endpoint or not isolated or action != "secretsmanager:GetSecretValue"
            expected = own is target and action in READ and through_network
            assert (result == ALLOW) == expected, (own.stack, target.stack, action, via_endpoint, result)
            checked += 1
    assert checked > 0


@pytest.mark.parametrize(("isolated", "shared_account"), LAYOUTS)
def test_each_eso_identity_decrypts_only_its_own_key_only_through_secrets_manager(isolated, shared_account):
    for param in _pairs(isolated, shared_account):
        own, target = param.values
        contexts = {
            "via-secrets-manager": {"kms:ViaService": f"secretsmanager.{target.region}.amazonaws.com", "kms:CallerAccount": own.account},
            "direct": {"kms:CallerAccount": own.account},
            "via-s3": {"kms:ViaService": f"s3.{target.region}.amazonaws.com", "kms:CallerAccount": own.account},
        }
        for (how, context), action in itertools.product(contexts.items(), ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:CreateGrant")):
            result = kms(target.key_policy, own.identity, Request(action, target.key_arn, {"AWS": own.role}, context))
            expected = own is target and action == "kms:Decrypt" and how == "via-secrets-manager"
            assert (result == ALLOW) == expected, (own.stack, target.stack, how, action, result)


def test_with_vpc_endpoints_a_value_read_from_outside_is_explicitly_denied_and_writers_are_exempt():
    for param in _pairs(True):
        own, target = param.values
        if own is not target:
            continue
        arn = own.secrets[0]
        outside = Request("secretsmanager:GetSecretValue", arn, {"AWS": own.role}, own.caller(own.role, via_endpoint=False))
        assert evaluate(own.resource_policies[arn], outside) == DENY
        operator = f"arn:aws:iam::{own.account}:role/{OPERATOR}"
        operator_iam = _doc({"Effect": "Allow", "Action": ["secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue"], "Resource": "*"})
        for action in ("secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue"):
            write = Request(action, arn, {"AWS": operator}, own.caller(operator, via_endpoint=False))
            assert same_account(operator_iam, own.resource_policies[arn], write) == ALLOW
        service = Request("secretsmanager:GetSecretValue", arn, {"Service": "lambda.amazonaws.com"}, {"aws:PrincipalIsAWSService": "true"})
        assert evaluate(own.resource_policies[arn], service) != DENY


def test_key_administrators_administer_but_never_decrypt_and_the_account_can_always_recover_the_policy():
    for param in _pairs(True):
        own, target = param.values
        if own is not target:
            continue
        admin = f"arn:aws:iam::{own.account}:role/{ADMIN}"
        everything = _doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
        via = {"kms:ViaService": f"secretsmanager.{own.region}.amazonaws.com", "kms:CallerAccount": own.account}
        assert kms(own.key_policy, everything, Request("kms:Decrypt", own.key_arn, {"AWS": admin}, via)) == DENY
        for action in ("kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:EnableKeyRotation"):
            assert kms(own.key_policy, None, Request(action, own.key_arn, {"AWS": admin})) == ALLOW, action
        # Any principal of the account that IAM allows can still replace the policy: no lockout.
        break_glass = f"arn:aws:iam::{own.account}:role/break-glass"
        assert kms(own.key_policy, everything, Request("kms:PutKeyPolicy", own.key_arn, {"AWS": break_glass})) == ALLOW
        assert kms(own.key_policy, everything, Request("kms:ScheduleKeyDeletion", own.key_arn, {"AWS": break_glass})) == IMPLICIT_DENY


def _web_identity(env: Env, sa: str = "external-secrets", namespace: str = "external-secrets", aud: str | None = "sts.amazonaws.com"):
    issuer = env.oidc.split(":oidc-provider/", 1)[1]
    context = {f"{issuer}:sub": f"system:serviceaccount:{namespace}:{sa}"}
    if aud is not None:
        context[f"{issuer}:aud"] = aud
    return context


def test_irsa_trust_admits_exactly_eso_of_the_environments_own_cluster():
    for param in _pairs(False):
        own, target = param.values
        # A token of `own`'s cluster, presented to `target`'s role.
        for variant, context in {
            "eso": _web_identity(own),
            "other-service-account": _web_identity(own, sa="default"),
            "other-namespace": _web_identity(own, namespace="aragora"),
            "other-audience": _web_identity(own, aud="vault"),
            "no-audience": _web_identity(own, aud=None),
        }.items():
            request = Request("sts:AssumeRoleWithWebIdentity", target.role, {"Federated": own.oidc}, context)
            result = evaluate(target.trust, request)
            assert (result == ALLOW) == (own is target and variant == "eso"), (own.stack, target.stack, variant)


def test_pod_identity_trust_admits_exactly_eso_of_the_environments_own_cluster_and_account():
    envs = {}
    for name, (stack, config_file) in _aws_envs().items():
        plan = render(stack, config_file, awsIdentity="pod-identity", awsEksClusterName=f"cluster-{stack}")
        envs[name] = (json.loads(plan.one("aws:iam/role:Role")["inputs"]["assumeRolePolicy"]), plan)
    for (trust, target), (_, own) in itertools.product(envs.values(), repeat=2):
        account, region, cluster = own.setting("awsAccountId"), own.setting("awsRegion"), own.setting("awsEksClusterName")
        tags = {
            "aws:SourceAccount": account,
            "aws:RequestTag/eks-cluster-arn": f"arn:aws:eks:{region}:{account}:cluster/{cluster}",
            "aws:RequestTag/kubernetes-namespace": "external-secrets",
            "aws:RequestTag/kubernetes-service-account": "external-secrets",
        }
        variants = {
            "eso": tags,
            "other-cluster-same-account": {**tags, "aws:RequestTag/eks-cluster-arn": f"arn:aws:eks:{region}:{account}:cluster/other"},
            "other-service-account": {**tags, "aws:RequestTag/kubernetes-service-account": "default"},
            "session-tags-disabled": {"aws:SourceAccount": account},
        }
        for variant, context in variants.items():
            for action in ("sts:AssumeRole", "sts:TagSession"):
                result = evaluate(trust, Request(action, "*", {"Service": "pods.eks.amazonaws.com"}, context))
                assert (result == ALLOW) == (own is target and variant == "eso"), (own.stack, target.stack, variant, action)

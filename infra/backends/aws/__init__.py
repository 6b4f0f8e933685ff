"""AWS Secrets Manager: one JSON secret per catalog group, a KMS key per environment, ESO by IRSA or Pod Identity.

``BACKEND`` is this backend's core (``infra.backends.base.Backend``): its
settings, its ``Pulumi.yaml`` keys and the facts of every type ``declare.py``
can declare (terraform-provider-aws ForceNew attributes, data-loss notes,
grants, unique names, billed units, the ids the provider computes). Its
capabilities are the files beside it: ``access.py``, ``reader.py``,
``workspace.py``, ``ci.py``, ``prices.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from components.facts import Facts
from infra.backends.aws.settings import AwsSettings
from infra.backends.base import Backend, Mocked, MockRequest
from infra.durations import HOURS_PER_MONTH


def _kms_key(r: MockRequest) -> Mocked:
    key_id = r.uuid()
    return key_id, {**r.inputs, "keyId": key_id, "arn": f"arn:aws:kms:{r.region}:{r.account}:key/{key_id}"}


def _kms_alias(r: MockRequest) -> Mocked:
    return r.inputs["name"], {**r.inputs, "arn": f"arn:aws:kms:{r.region}:{r.account}:{r.inputs['name']}"}


def _secret(r: MockRequest) -> Mocked:
    arn = f"arn:aws:secretsmanager:{r.region}:{r.account}:secret:{r.inputs['name']}-{r.suffix()}"
    return arn, {**r.inputs, "arn": arn}


def _policy(r: MockRequest) -> Mocked:
    arn = f"arn:aws:iam::{r.account}:policy/{r.inputs['name']}"
    return arn, {**r.inputs, "arn": arn}


def _role(r: MockRequest) -> Mocked:
    arn = f"arn:aws:iam::{r.account}:role/{r.inputs['name']}"
    return r.inputs["name"], {**r.inputs, "arn": arn, "uniqueId": "AROA" + r.suffix(17).upper()}


def _vpc_endpoint(r: MockRequest) -> Mocked:
    endpoint_id = "vpce-" + r.hex(17)
    return endpoint_id, {**r.inputs, "id": endpoint_id}


def _pod_identity(r: MockRequest) -> Mocked:
    assoc = "a-" + r.suffix(17).lower()
    arn = f"arn:aws:eks:{r.region}:{r.account}:podidentityassociation/{r.inputs['clusterName']}/{assoc}"
    return assoc, {**r.inputs, "associationId": assoc, "associationArn": arn}


KEYS: dict[str, dict[str, Any]] = {
    "awsRegion": {
        "type": "string",
        "default": "",
        "description": "AWS region of the secrets and the cluster (backend aws).",
    },
    "awsAccountId": {
        "type": "string",
        "default": "",
        "description": "12-digit AWS account of this environment; the provider refuses credentials of any other account.",
    },
    "awsIdentity": {
        "type": "string",
        "default": "irsa",
        "description": "How ESO gets AWS credentials - irsa or pod-identity.",
    },
    "awsDeployerRoleArn": {
        "type": "string",
        "default": "",
        "description": "IAM role (in awsAccountId) the Pulumi Kubernetes Operator's workspace assumes through IRSA or Pod Identity to run this stack (make operator); unused by pulumi up.",
    },
    "awsOidcProviderArn": {
        "type": "string",
        "default": "",
        "description": "IAM OIDC provider ARN of the EKS cluster (awsIdentity irsa).",
    },
    "awsEksClusterName": {
        "type": "string",
        "default": "",
        "description": "EKS cluster name for the Pod Identity association (awsIdentity pod-identity).",
    },
    "awsVpcEndpoints": {
        "type": "string",
        "default": "none",
        "description": "Network isolation - none, create (interface endpoints for secretsmanager, kms and sts in awsVpcId) or existing (awsVpcEndpointIds); with either, each secret's resource policy denies reads and writes not coming through those endpoints.",
    },
    "awsVpcId": {
        "type": "string",
        "default": "",
        "description": "The cluster's VPC (awsVpcEndpoints create).",
    },
    "awsVpcSubnetIds": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Subnets of the endpoints' network interfaces (awsVpcEndpoints create).",
    },
    "awsVpcSecurityGroupIds": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Security groups of the endpoints, allowing 443 from the cluster's nodes (awsVpcEndpoints create).",
    },
    "awsVpcEndpointIds": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Secrets Manager VPC endpoint ids reads must come through (awsVpcEndpoints existing).",
    },
    "awsSecretWriterArns": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "IAM roles/users of this account that may read and write values from outside the VPC endpoints (operators, CI).",
    },
    "awsRotationLambdaArns": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "group=<rotation Lambda ARN> pairs; that grouped secret is rotated by it every max age of the catalog (e.g. database=arn:aws:lambda:...:function:rotate-db). Groups without one are rotated by hand.",
    },
    "awsConfigRules": {
        "type": "boolean",
        "default": False,
        "description": "AWS Config managed rules for this environment's secrets (needs the account's Config recorder) - rotated within the catalog's max age, encrypted with this stack's key, not unused.",
    },
    "awsKmsAdminArns": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "IAM roles/users of this account that administer the secrets' KMS key (and include the deploy role); they can never decrypt. Empty - the account's IAM policies decide who administers.",
    },
    "awsRecoveryWindowDays": {
        "type": "integer",
        "default": 30,
        "description": "Days a deleted secret stays recoverable (7..30).",
    },
}

# How AWS triggers each Config managed rule aws-rotation declares (AWS Config Developer Guide, the
# rule's page, "Trigger type"): a periodic rule evaluates every resource in its scope on each run,
# a change-triggered one each resource in scope when a change to it is recorded.
CONFIG_RULE_TRIGGERS = {
    "SECRETSMANAGER_SECRET_PERIODIC_ROTATION": "periodic",
    "SECRETSMANAGER_SECRET_UNUSED": "periodic",
    "SECRETSMANAGER_USING_CMK": "change",
}
# ``maximumExecutionFrequency`` in hours; a periodic managed rule without it runs every 24 hours.
_RULE_FREQUENCY_HOURS = {"One_Hour": 1, "Three_Hours": 3, "Six_Hours": 6, "Twelve_Hours": 12, "TwentyFour_Hours": 24}
# Assumed: one recorded change per secret a month (a new value or a rotation); the plan cannot know more.
CHANGES_PER_MONTH = 1
# A Config scope's resource types, as the types this backend declares.
_CONFIG_TYPES = {"AWS::SecretsManager::Secret": "aws:secretsmanager/secret:Secret"}


def _tags(resource: dict[str, Any], resources: Sequence[dict[str, Any]]) -> dict[str, str]:
    """A resource's tags as AWS sees them: its provider's default tags, then its own."""
    provider = (resource.get("provider") or "").rsplit("::", 1)[0]
    tags: dict[str, str] = {}
    for r in resources:
        if r["urn"] == provider:
            default = r["inputs"].get("defaultTags") or {}
            tags.update((json.loads(default) if isinstance(default, str) else default).get("tags") or {})
    tags.update(resource["inputs"].get("tags") or {})
    return tags


def _billed_config_rule(inputs: dict[str, Any], resources: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Rule evaluations a month: each resource of this plan in the rule's scope, per run or per change.

    An identifier missing from CONFIG_RULE_TRIGGERS counts as periodic (every resource each run,
    the larger of the two); a test keeps the table complete for what the stack declares."""
    scope = inputs.get("scope") or {}
    types = {_CONFIG_TYPES.get(t) for t in scope.get("complianceResourceTypes") or []} or set(_CONFIG_TYPES.values())
    key, value = scope.get("tagKey"), scope.get("tagValue")
    in_scope = [
        r
        for r in resources
        if r["type"] in types and (key is None or (key in (tags := _tags(r, resources)) and value in (None, tags[key])))
    ]
    identifier = (inputs.get("source") or {}).get("sourceIdentifier")
    if CONFIG_RULE_TRIGGERS.get(identifier, "periodic") == "periodic":
        hours = _RULE_FREQUENCY_HOURS.get(inputs.get("maximumExecutionFrequency") or "TwentyFour_Hours", 24)
        per_resource = HOURS_PER_MONTH / hours
    else:
        per_resource = CHANGES_PER_MONTH
    return {"config-rule-evaluations": len(in_scope) * per_resource} if in_scope else {}


def _billed_key(inputs: dict[str, Any], resources: Sequence[dict[str, Any]]) -> dict[str, float]:
    billed = {"kms-key-months": 1.0}
    if inputs.get("enableKeyRotation"):
        # KMS bills the backing keys of the first and second rotations (a key-month each) and no
        # later ones: the steady state, two rotation periods after the key is created.
        billed["kms-rotation-key-months"] = 2.0
    return billed


def _billed_endpoint(inputs: dict[str, Any], resources: Sequence[dict[str, Any]]) -> dict[str, float]:
    # A gateway endpoint (AWS's default type) has no hourly charge.
    if inputs.get("vpcEndpointType") != "Interface":
        return {}
    # One network interface per subnet given, and AWS takes one subnet per Availability Zone;
    # none given is counted as one zone.
    zones = len(inputs.get("subnetIds") or []) or 1
    return {"endpoint-az-hours": float(zones * HOURS_PER_MONTH)}


BACKEND = Backend(
    settings=AwsSettings,
    keys=KEYS,
    # terraform-provider-aws ForceNew attributes of every type declare.py can declare.
    resources={
        "pulumi:providers:aws": Facts(("region",)),
        "aws:kms/key:Key": Facts(
            ("customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"),
            data_loss="schedules deletion of the key: every value encrypted with it becomes unreadable",
            billed=_billed_key,
            mock=_kms_key,
        ),
        "aws:kms/alias:Alias": Facts(("name", "namePrefix"), unique_on=("name",), mock=_kms_alias),
        "aws:secretsmanager/secret:Secret": Facts(
            ("name", "namePrefix"),
            data_loss="schedules deletion of the secret and its values (recoverable for the recovery window)",
            unique_on=("name",),
            billed=lambda i, _: {"secret-months": 1 + len(i.get("replicas") or [])},
            mock=_secret,
        ),
        "aws:secretsmanager/secretPolicy:SecretPolicy": Facts(("secretArn",)),
        "aws:iam/policy:Policy": Facts(("name", "namePrefix", "path", "description"), unique_on=("name",), mock=_policy),
        "aws:iam/role:Role": Facts(("name", "namePrefix", "path"), unique_on=("name",), mock=_role),
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Facts(("role", "policyArn"), grant=True),
        "aws:eks/podIdentityAssociation:PodIdentityAssociation": Facts(
            ("clusterName", "namespace", "serviceAccount"), grant=True, mock=_pod_identity
        ),
        "aws:ec2/vpcEndpoint:VpcEndpoint": Facts(
            ("vpcId", "serviceName", "vpcEndpointType"), billed=_billed_endpoint, mock=_vpc_endpoint
        ),
        "aws:secretsmanager/secretRotation:SecretRotation": Facts(("secretId",)),
        "aws:cfg/rule:Rule": Facts(("name",), unique_on=("name",), billed=_billed_config_rule),
    },
)

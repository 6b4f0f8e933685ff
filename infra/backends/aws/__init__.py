"""AWS Secrets Manager: one JSON secret per catalog group, a KMS key per environment, ESO by IRSA or Pod Identity.

``BACKEND`` is this backend's core (``infra.backends.base.Backend``): its
settings, its ``Pulumi.yaml`` keys and the facts of every type ``declare.py``
can declare (terraform-provider-aws ForceNew attributes, data-loss notes,
grants, unique names, billed units, the ids the provider computes). Its
capabilities are the files beside it: ``access.py``, ``reader.py``,
``workspace.py``, ``ci.py``, ``prices.json``.
"""

from __future__ import annotations

from typing import Any

from components.facts import Facts
from infra.backends.aws.settings import AwsSettings
from infra.backends.base import Backend, Mocked, MockRequest


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

BACKEND = Backend(
    settings=AwsSettings,
    keys=KEYS,
    # terraform-provider-aws ForceNew attributes of every type declare.py can declare.
    resources={
        "pulumi:providers:aws": Facts(("region",)),
        "aws:kms/key:Key": Facts(
            ("customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"),
            data_loss="schedules deletion of the key: every value encrypted with it becomes unreadable",
            billed=lambda i: {"kms-key-months": 1},
            mock=_kms_key,
        ),
        "aws:kms/alias:Alias": Facts(("name", "namePrefix"), unique_on=("name",), mock=_kms_alias),
        "aws:secretsmanager/secret:Secret": Facts(
            ("name", "namePrefix"),
            data_loss="schedules deletion of the secret and its values (recoverable for the recovery window)",
            unique_on=("name",),
            billed=lambda i: {"secret-months": 1 + len(i.get("replicas") or [])},
            mock=_secret,
        ),
        "aws:secretsmanager/secretPolicy:SecretPolicy": Facts(("secretArn",)),
        "aws:iam/policy:Policy": Facts(("name", "namePrefix", "path", "description"), unique_on=("name",), mock=_policy),
        "aws:iam/role:Role": Facts(("name", "namePrefix", "path"), unique_on=("name",), mock=_role),
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Facts(("role", "policyArn"), grant=True),
        "aws:eks/podIdentityAssociation:PodIdentityAssociation": Facts(
            ("clusterName", "namespace", "serviceAccount"), grant=True, mock=_pod_identity
        ),
        "aws:ec2/vpcEndpoint:VpcEndpoint": Facts(("vpcId", "serviceName", "vpcEndpointType"), mock=_vpc_endpoint),
        "aws:secretsmanager/secretRotation:SecretRotation": Facts(("secretId",)),
        "aws:cfg/rule:Rule": Facts(("name",), unique_on=("name",)),
    },
)

"""AWS Secrets Manager: one JSON secret per catalog group, a KMS key per environment, ESO by IRSA or Pod Identity.

``BACKEND`` is this backend's contract (``infra.backends.base.Backend``);
``settings`` its keys; ``declare`` its resources, through ``components/aws``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from infra.backends.aws.settings import AwsSettings
from infra.backends.base import Backend, Mocked, MockRequest, Workspace
from infra.catalog import Catalog
from infra.durations import HOURS_PER_MONTH


def _mock(r: MockRequest) -> Mocked | None:
    inputs, region, account = r.inputs, r.region, r.account
    if r.typ == "aws:kms/key:Key":
        key_id = r.uuid()
        return key_id, {**inputs, "keyId": key_id, "arn": f"arn:aws:kms:{region}:{account}:key/{key_id}"}
    if r.typ == "aws:kms/alias:Alias":
        return inputs["name"], {**inputs, "arn": f"arn:aws:kms:{region}:{account}:{inputs['name']}"}
    if r.typ == "aws:secretsmanager/secret:Secret":
        arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{inputs['name']}-{r.suffix()}"
        return arn, {**inputs, "arn": arn}
    if r.typ == "aws:iam/policy:Policy":
        arn = f"arn:aws:iam::{account}:policy/{inputs['name']}"
        return arn, {**inputs, "arn": arn}
    if r.typ == "aws:iam/role:Role":
        arn = f"arn:aws:iam::{account}:role/{inputs['name']}"
        return inputs["name"], {**inputs, "arn": arn, "uniqueId": "AROA" + r.suffix(17).upper()}
    if r.typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
        endpoint_id = "vpce-" + r.hex(17)
        return endpoint_id, {**inputs, "id": endpoint_id}
    if r.typ == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
        assoc = "a-" + r.suffix(17).lower()
        arn = f"arn:aws:eks:{region}:{account}:podidentityassociation/{inputs['clusterName']}/{assoc}"
        return assoc, {**inputs, "associationId": assoc, "associationArn": arn}
    return None


def _pretty_json(document: str) -> str:
    return json.dumps(json.loads(document), indent=2) + "\n"


def _access_documents(stack: str, resources: list[dict[str, Any]]) -> dict[str, str]:
    docs = {}
    for r in resources:
        if r["type"] == "aws:iam/policy:Policy":
            docs[f"{r['inputs']['name']}.json"] = _pretty_json(r["inputs"]["policy"])
        elif r["type"] == "aws:iam/role:Role":
            docs[f"{r['inputs']['name']}-trust.json"] = _pretty_json(r["inputs"]["assumeRolePolicy"])
    return docs


def _client(settings: AwsSettings):
    import boto3

    return boto3.client("secretsmanager", region_name=settings.region)


def _current_version(client, name: str):
    """The AWSCURRENT version's id and creation date, or None when the secret has no value (or no secret)."""
    from botocore.exceptions import ClientError

    try:
        versions = client.list_secret_version_ids(SecretId=name)["Versions"]
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return None
    return next((v for v in versions if "AWSCURRENT" in v.get("VersionStages", [])), None)


def _value_age(environment: str, settings: AwsSettings, secrets: Catalog):
    client = _client(settings)
    cache: dict = {}

    def changed(entry):
        name = secrets.app.grouped_path(environment, entry.group)
        if name not in cache:
            current = _current_version(client, name)
            cache[name] = current["CreatedDate"] if current else None
        return name, cache[name]

    return changed


def _value_presence(environment: str, settings: AwsSettings, secrets: Catalog):
    from botocore.exceptions import ClientError

    client = _client(settings)
    cache: dict[str, dict | None] = {}

    def present(entry):
        name = secrets.app.grouped_path(environment, entry.group)
        if name not in cache:
            try:
                # The value is fetched only to see which properties the JSON has; it is never kept or printed.
                text = client.get_secret_value(SecretId=name, VersionStage="AWSCURRENT").get("SecretString") or "{}"
                document = json.loads(text)
                cache[name] = document if isinstance(document, dict) else {}
            except ClientError as err:
                if err.response["Error"]["Code"] not in ("ResourceNotFoundException", "InvalidRequestException"):
                    raise
                cache[name] = None
            except json.JSONDecodeError:
                cache[name] = {}
        document = cache[name]
        return f"{name} / {entry.key}", bool(document) and entry.key in document

    return present


def _credentials(settings: AwsSettings) -> str:
    return (
        f"AWS credentials for account {settings.account_id} in {settings.region}: AWS_PROFILE, or "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS_ENDPOINT_URL for a local endpoint)"
    )


def _workspace(settings: AwsSettings) -> Workspace:
    role = settings.deployer_role_arn
    return Workspace(
        identity_key="awsDeployerRoleArn",
        identity=role,
        annotations={"eks.amazonaws.com/role-arn": role} if role else {},
        env={"AWS_REGION": settings.region or ""},
        note=(
            "IRSA: the role trusts the operator cluster's OIDC provider for exactly the workspace's service account "
            "(sts.amazonaws.com audience); Pod Identity: associate the role with that service account instead"
        ),
    )


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
    # terraform-provider-aws ForceNew attributes of every type declare.py can declare.
    replace_on={
        "pulumi:providers:aws": ("region",),
        "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"),
        "aws:kms/alias:Alias": ("name", "namePrefix"),
        "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
        "aws:secretsmanager/secretPolicy:SecretPolicy": ("secretArn",),
        "aws:iam/policy:Policy": ("name", "namePrefix", "path", "description"),
        "aws:iam/role:Role": ("name", "namePrefix", "path"),
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
        "aws:eks/podIdentityAssociation:PodIdentityAssociation": ("clusterName", "namespace", "serviceAccount"),
        "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpcId", "serviceName", "vpcEndpointType"),
        "aws:secretsmanager/secretRotation:SecretRotation": ("secretId",),
        "aws:cfg/rule:Rule": ("name",),
    },
    value_types={
        "aws:secretsmanager/secret:Secret": "schedules deletion of the secret and its values (recoverable for the recovery window)",
        "aws:kms/key:Key": "schedules deletion of the key: every value encrypted with it becomes unreadable",
    },
    grant_types=("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:eks/podIdentityAssociation:PodIdentityAssociation"),
    access_documents=_access_documents,
    value_age=_value_age,
    value_presence=_value_presence,
    credentials=_credentials,
    ci_inputs=("aws-role-arn", "aws-region", "eks-cluster-name"),
    mock=_mock,
    workspace=_workspace,
    unique_on={
        "aws:secretsmanager/secret:Secret": ("name",),
        "aws:iam/role:Role": ("name",),
        "aws:iam/policy:Policy": ("name",),
        "aws:kms/alias:Alias": ("name",),
        "aws:cfg/rule:Rule": ("name",),
    },
    billed={
        "aws:secretsmanager/secret:Secret": lambda i, _: {"secret-months": 1 + len(i.get("replicas") or [])},
        "aws:kms/key:Key": _billed_key,
        "aws:ec2/vpcEndpoint:VpcEndpoint": _billed_endpoint,
        "aws:cfg/rule:Rule": _billed_config_rule,
    },
)

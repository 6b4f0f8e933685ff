"""AwsNetworkIsolation built alone: endpoints in the given VPC, a deny-outside policy on every secret."""

from __future__ import annotations

import json

import pytest

from components.aws.network_isolation import AwsNetworkIsolation, AwsNetworkIsolationArgs
from tests.unit.harness import declare

SECRETS = {"a": "arn:aws:secretsmanager:eu-west-1:1:secret:aragora/unit/a-x", "b": "arn:aws:secretsmanager:eu-west-1:1:secret:aragora/unit/b-y"}
WRITER = "arn:aws:iam::123456789012:role/operator"


CREATE = {"vpc_id": "vpc-0abc12345def67890", "subnet_ids": ("subnet-0abc12345def67890",), "security_group_ids": ("sg-0abc12345def67890",)}
EXISTING = {"existing_endpoint_ids": ("vpce-0abc12345def67890",)}
# What EC2 computes for a created endpoint: its id.
COMPUTED = {"aws:ec2/vpcEndpoint:VpcEndpoint": lambda name, inputs: {"id": f"vpce-{abs(hash(name)) % 16**17:017x}"}}


def _plan(network):
    return declare(
        lambda: AwsNetworkIsolation(
            "net", AwsNetworkIsolationArgs(name_prefix="app-unit", region="eu-west-1", secret_arns=SECRETS, writer_arns=[WRITER], **network)
        ),
        computed=COMPUTED,
    )


def test_create_mode_declares_private_interface_endpoints_for_secretsmanager_kms_and_sts_in_the_vpc():
    plan = _plan(CREATE)
    endpoints = {r["inputs"]["serviceName"]: r["inputs"] for r in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert set(endpoints) == {f"com.amazonaws.eu-west-1.{s}" for s in ("secretsmanager", "kms", "sts")}
    for e in endpoints.values():
        assert (e["vpcId"], e["vpcEndpointType"], e["privateDnsEnabled"]) == ("vpc-0abc12345def67890", "Interface", True)
        assert e["subnetIds"] == ["subnet-0abc12345def67890"] and e["securityGroupIds"] == ["sg-0abc12345def67890"]
        assert e["tags"]["Name"].startswith("app-unit-")


def test_every_secret_gets_a_blocking_policy_naming_the_secretsmanager_endpoint_and_the_writers():
    plan = _plan(EXISTING)
    assert plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") == []
    policies = {r["inputs"]["secretArn"]: r["inputs"] for r in plan.of_type("aws:secretsmanager/secretPolicy:SecretPolicy")}
    assert set(policies) == set(SECRETS.values())
    for p in policies.values():
        assert p["blockPublicPolicy"] is True
        (st,) = json.loads(p["policy"])["Statement"]
        assert st["Effect"] == "Deny" and st["Principal"] == "*"
        assert st["Condition"]["StringNotEquals"] == {"aws:SourceVpce": ["vpce-0abc12345def67890"]}
        assert st["Condition"]["ArnNotEquals"] == {"aws:PrincipalArn": [WRITER]}


def test_created_endpoints_ids_flow_into_the_policies():
    plan = _plan(CREATE)
    (sm,) = [r for r in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if r["inputs"]["serviceName"].endswith(".secretsmanager")]
    policy = json.loads(plan.of_type("aws:secretsmanager/secretPolicy:SecretPolicy")[0]["inputs"]["policy"])
    (endpoint_id,) = policy["Statement"][0]["Condition"]["StringNotEquals"]["aws:SourceVpce"]
    assert endpoint_id.startswith("vpce-") and endpoint_id in json.dumps(plan.outputs) + json.dumps(plan.resources)
    assert sm["name"] == "net-secretsmanager"


@pytest.mark.parametrize("network", [{}, {**CREATE, **EXISTING}, {"vpc_id": "vpc-0abc12345def67890"}])
def test_exactly_one_complete_network_mode_is_required(network):
    with pytest.raises(ValueError, match="AwsNetworkIsolationArgs"):
        AwsNetworkIsolationArgs(name_prefix="p", region="eu-west-1", secret_arns=SECRETS, **network)

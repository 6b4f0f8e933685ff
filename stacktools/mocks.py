"""Deterministic provider mocks for the offline plan and the tests.

Providers compute ids and ARNs in the cloud; here they are built from the
provider's own inputs (account, region, project), so rendered documents look
exactly as they will after a real ``pulumi up``, and two runs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pulumi

_NS = uuid.UUID("6c1b0a4e-8e52-4d8a-9d3c-5a2f2a6f1b01")
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _suffix(seed: str, length: int = 6) -> str:
    """Secrets Manager appends 6 random characters to an ARN; make them stable."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in digest[:length])


class PlanMocks(pulumi.runtime.Mocks):
    """Echo inputs and add the provider-computed fields the program reads."""

    def __init__(self) -> None:
        self.providers: dict[str, dict[str, Any]] = {}

    def _provider_inputs(self, ref: str | None) -> dict[str, Any]:
        # A provider reference is "<urn>::<id>"; ids are unique per provider here.
        return self.providers.get((ref or "").rsplit("::", 1)[-1], {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            provider_id = str(uuid.uuid5(_NS, f"{args.typ}/{args.name}"))
            self.providers[provider_id] = inputs
            return provider_id, inputs

        p = self._provider_inputs(args.provider)
        region = p.get("region", "us-east-1")
        # Provider config arrives JSON-encoded, as the engine passes it.
        accounts = p.get("allowedAccountIds") or []
        accounts = json.loads(accounts) if isinstance(accounts, str) else accounts
        account = accounts[0] if accounts else "000000000000"
        # A GCP resource's own `project` wins over its provider's, as in the provider.
        project = inputs.get("project") or p.get("project", "example-project")
        # The stack is part of every id: two stacks in one account never share a key ARN.
        seed = f"{pulumi.get_stack()}/{account}/{region}/{project}/{args.typ}/{args.name}"
        typ = args.typ

        if typ == "aws:kms/key:Key":
            key_id = str(uuid.uuid5(_NS, seed))
            return key_id, {**inputs, "keyId": key_id, "arn": f"arn:aws:kms:{region}:{account}:key/{key_id}"}
        if typ == "aws:kms/alias:Alias":
            return inputs["name"], {**inputs, "arn": f"arn:aws:kms:{region}:{account}:{inputs['name']}"}
        if typ == "aws:secretsmanager/secret:Secret":
            arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{inputs['name']}-{_suffix(seed)}"
            return arn, {**inputs, "arn": arn}
        if typ == "aws:iam/policy:Policy":
            arn = f"arn:aws:iam::{account}:policy/{inputs['name']}"
            return arn, {**inputs, "arn": arn}
        if typ == "aws:iam/role:Role":
            arn = f"arn:aws:iam::{account}:role/{inputs['name']}"
            return inputs["name"], {**inputs, "arn": arn, "uniqueId": "AROA" + _suffix(seed, 17).upper()}
        if typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
            endpoint_id = "vpce-" + hashlib.sha256(seed.encode()).hexdigest()[:17]
            return endpoint_id, {**inputs, "id": endpoint_id}
        if typ == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            assoc = "a-" + _suffix(seed, 17).lower()
            arn = f"arn:aws:eks:{region}:{account}:podidentityassociation/{inputs['clusterName']}/{assoc}"
            return assoc, {**inputs, "associationId": assoc, "associationArn": arn}
        if typ == "gcp:serviceaccount/account:Account":
            email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
            name = f"projects/{project}/serviceAccounts/{email}"
            return name, {**inputs, "email": email, "name": name, "member": f"serviceAccount:{email}"}
        if typ == "gcp:secretmanager/secret:Secret":
            sid = f"projects/{project}/secrets/{inputs['secretId']}"
            return sid, {**inputs, "name": sid}
        if typ.startswith("kubernetes:") and isinstance(inputs.get("metadata"), dict):
            meta = inputs["metadata"]
            ident = "/".join(x for x in (meta.get("namespace"), meta.get("name")) if x)
            return ident or args.name, inputs
        return f"{args.name}-id", inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return {}

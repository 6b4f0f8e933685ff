"""The failover drill, on moto's server mode with two regions.

1. The multi-region example is rendered (its resources.json) and moto is given
   what it declares: every KMS key in its provider's region with its policy,
   every secret in the primary region with its replicas, each under the key
   the plan names for that region. Values are written to the primary, one per
   remote key any ExternalSecret reads.
2. A proxy on 127.0.0.1 stands for the network: it refuses every request
   signed for the primary region (the region is lost).
3. The one line is changed in a copy of the stack file: the primary cluster's
   ``awsReadRegion`` becomes the replica region.
4. Every ExternalSecret of every cluster is read as ESO would read it, from the
   region its cluster's store now names: each remote key's value comes back,
   and the ESO role's read policy and the region's key policy allow exactly
   that read (evaluated strictly, ``tests/iam_eval.py``).
5. Nothing was deleted: every secret and key is still there, none pending
   deletion, and the switch's plan diff deletes and replaces nothing.

Limits of moto (5.2): it records a replica's key as its default alias whatever
is asked, so which key encrypts a replica is checked on the plan (the key of
that region) and by evaluating that key's policy, not read back from moto.
"""

from __future__ import annotations

import http.client
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from components.eso_api import CLUSTER_SECRET_STORE_TYPE, EXTERNAL_SECRET_TYPE
from infra import stackfiles
from stacktools import plandiff
from tests.iam_eval import ALLOW, Request, evaluate, kms
from tests.moto_server import moto_server
from tests.servers import serving
from tests.support import MULTI_CLUSTER, render

EXAMPLE = MULTI_CLUSTER["multi-region-production"]
TIMEOUTS = Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 1})
EXTERNAL_SECRET = EXTERNAL_SECRET_TYPE
STORE = CLUSTER_SECRET_STORE_TYPE


class _RegionFence(BaseHTTPRequestHandler):
    """Forwards to moto, except requests signed for a refused region (the lost one)."""

    upstream: tuple[str, int]
    refused: set[str]
    seen: list[str]

    def _relay(self) -> None:
        auth = self.headers.get("Authorization", "")
        # SigV4: Credential=<key>/<date>/<region>/<service>/aws4_request
        region = auth.split("Credential=", 1)[1].split("/")[2] if "Credential=" in auth else ""
        self.seen.append(region)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if region in self.refused:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            return
        conn = http.client.HTTPConnection(*self.upstream, timeout=10)
        try:
            conn.request(self.command, self.path, body, {k: v for k, v in self.headers.items() if k.lower() != "host"})
            reply = conn.getresponse()
            data = reply.read()
        finally:
            conn.close()
        self.send_response(reply.status)
        for k, v in reply.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _relay

    def log_message(self, *args) -> None:  # quiet
        pass


def _switched_file(tmp_path: Path, cluster: str, region: str) -> Path:
    """The example with one line changed: ``cluster``'s awsReadRegion."""
    lines = EXAMPLE.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{cluster}:")
    at = next(i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("awsReadRegion:"))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    changed = [*lines[:at], f"{indent}awsReadRegion: {region}\n", *lines[at + 1 :]]
    assert sum(a != b for a, b in zip(lines, changed, strict=True)) == 1
    path = tmp_path / EXAMPLE.name
    path.write_text("".join(changed))
    return path


def _providers(plan) -> dict[str, dict]:
    return {r["urn"]: r for r in plan.resources if r["type"].startswith("pulumi:providers:")}


def test_a_lost_primary_region_loses_no_secret_after_the_one_line_switch(tmp_path):
    stack = stackfiles.stack_of(EXAMPLE)
    raw = stackfiles.stack_config(stack, EXAMPLE)
    primary = raw["aragora-secrets:awsRegion"]
    account = raw["aragora-secrets:awsAccountId"]
    clusters = json.loads(raw["aragora-secrets:clusters"])
    home = next(iter(clusters))
    base = render(stack, EXAMPLE)
    replica_regions = sorted({r["region"] for s in base.of_type("aws:secretsmanager/secret:Secret") for r in s["inputs"]["replicas"]})
    assert replica_regions and primary not in replica_regions
    target = replica_regions[0]

    # 3. (rendered first: the switch is a config change) the one line, from the stack file.
    switched_file = _switched_file(tmp_path, home, target)
    head = render(stack, switched_file)
    change = plandiff.diff(base.resources, head.resources)
    assert not change.create and not change.delete and not any(c.replace for c in change.update)
    assert {c.type for c in change.update} == {STORE}

    providers = _providers(base)
    # A provider reference is "<provider URN>::<id>".
    region_of = lambda r: providers[r["provider"].rsplit("::", 1)[0]]["inputs"]["region"]  # noqa: E731
    with moto_server(tmp_path, account) as moto_url:
        handler = type("Fence", (_RegionFence,), {"upstream": ("127.0.0.1", urlsplit(moto_url).port), "refused": set(), "seen": []})
        with serving(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as fence_port:
            endpoint = f"http://127.0.0.1:{fence_port}"

            session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106 - moto's
            clients: dict = {}

            def client(service: str, region: str):
                if (service, region) not in clients:
                    clients[service, region] = session.client(service, region_name=region, endpoint_url=endpoint, config=TIMEOUTS)
                return clients[service, region]

            # 1. The keys, secrets and replicas as declared.
            real_key = {}
            for key in base.of_type("aws:kms/key:Key"):
                made = client("kms", region_of(key)).create_key(
                    Policy=key["inputs"]["policy"], Description=key["inputs"]["description"], MultiRegion=False
                )
                real_key[(region_of(key), key["urn"])] = made["KeyMetadata"]["Arn"]
            plan_key = {r: k for (r, _), k in real_key.items()}
            declared_keys = {region_of(k): k for k in base.of_type("aws:kms/key:Key")}
            mock_arn = {region: base.outputs["awsKmsKeyArn"] if region == primary else base.outputs["awsReplicaKmsKeyArns"][region] for region in declared_keys}
            names = []
            for secret in base.of_type("aws:secretsmanager/secret:Secret"):
                assert region_of(secret) == primary
                inputs = secret["inputs"]
                # Each replica is encrypted by the key the plan declares in that replica's own region.
                assert {r["region"]: r["kmsKeyId"] for r in inputs["replicas"]} == {r: mock_arn[r] for r in replica_regions}
                client("secretsmanager", primary).create_secret(
                    Name=inputs["name"],
                    KmsKeyId=plan_key[primary],
                    AddReplicaRegions=[{"Region": r["region"], "KmsKeyId": plan_key[r["region"]]} for r in inputs["replicas"]],
                    ForceOverwriteReplicaSecret=inputs.get("forceOverwriteReplicaSecret", False),
                )
                names.append(inputs["name"])
            wanted: dict[str, dict[str, str]] = {}
            for es in base.of_type(EXTERNAL_SECRET):
                for item in es["inputs"]["spec"]["data"]:
                    ref = item["remoteRef"]
                    wanted.setdefault(ref["key"], {})[ref["property"]] = f"drill-{ref['key']}-{ref['property']}"
            assert set(wanted) <= set(names)
            for name, document in wanted.items():
                client("secretsmanager", primary).put_secret_value(SecretId=name, SecretString=json.dumps(document))

            # 2. The primary region is lost.
            handler.refused.add(primary)
            with pytest.raises((ClientError, EndpointConnectionError, ReadTimeoutError)):
                client("secretsmanager", primary).get_secret_value(SecretId=names[0])

            # 4. Every ExternalSecret of every cluster, read where its store now reads.
            identity = head.one("aws:iam/policy:Policy")["inputs"]["policy"]
            role = head.outputs["awsRoleArn"]
            stores = {s["provider"]: s["inputs"]["spec"]["provider"]["aws"]["region"] for s in head.of_type(STORE)}
            assert len(stores) == len(clusters) and set(stores.values()) == {target}
            read = 0
            for es in head.of_type(EXTERNAL_SECRET):
                region = stores[es["provider"]]
                reader = client("secretsmanager", region)
                for item in es["inputs"]["spec"]["data"]:
                    ref = item["remoteRef"]
                    value = reader.get_secret_value(SecretId=ref["key"])
                    assert json.loads(value["SecretString"])[ref["property"]] == wanted[ref["key"]][ref["property"]]
                    caller = {"aws:PrincipalArn": role, "aws:PrincipalAccount": account}
                    assert evaluate(identity, Request("secretsmanager:GetSecretValue", value["ARN"], {"AWS": role}, caller)) == ALLOW
                    via = {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com", "kms:CallerAccount": account}
                    key_policy = declared_keys[region]["inputs"]["policy"]
                    assert kms(key_policy, identity, Request("kms:Decrypt", mock_arn[region], {"AWS": role}, via)) == ALLOW
                    # ...and the lost region's key is of no use from the replica region.
                    assert kms(declared_keys[primary]["inputs"]["policy"], identity, Request("kms:Decrypt", mock_arn[primary], {"AWS": role}, via)) != ALLOW
                    read += 1
            assert read == sum(len(es["inputs"]["spec"]["data"]) for es in head.of_type(EXTERNAL_SECRET)) > 0
            assert primary not in handler.seen[-read:]

            # 5. Nothing was deleted (the region is back for the check).
            handler.refused.clear()
            for region in (primary, *replica_regions):
                listed = client("secretsmanager", region).list_secrets(IncludePlannedDeletion=True)["SecretList"]
                assert sorted(s["Name"] for s in listed) == sorted(names)
                assert not any(s.get("DeletedDate") for s in listed)
                for (key_region, _), arn in real_key.items():
                    if key_region == region:
                        assert client("kms", region).describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"

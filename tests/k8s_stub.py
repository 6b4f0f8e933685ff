"""A stand-in for one cluster's API server, as far as Vault's Kubernetes auth uses it.

It issues service-account tokens (RS256, the claims of a projected token) with
its own key, and answers ``POST /apis/authentication.k8s.io/v1/tokenreviews``
as the API server does: the caller must present a bearer token of this cluster
whose audiences include the API server's own (else 401, as a real API server
refuses a reviewer token not meant for it); the reviewed token is
authenticated only when this cluster signed it, it has not expired, and its
audiences meet the requested ones (``status.audiences`` is the intersection).
Tokens of another stub (another cluster) are never authenticated.

Served on 127.0.0.1 with a free port, in a thread, stopped with the context.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.servers import serving

ISSUER = "https://kubernetes.default.svc.cluster.local"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Cluster:
    """One cluster's token signer and TokenReview API."""

    def __init__(self, api_audience: str):
        self.api_audience = api_audience
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.reviews: list[dict] = []
        self.url = ""

    def mint(self, namespace: str, service_account: str, audiences: list[str], ttl: int = 600) -> str:
        now = int(time.time())
        claims = {
            "aud": audiences,
            "exp": now + ttl,
            "iat": now,
            "nbf": now,
            "iss": ISSUER,
            "sub": f"system:serviceaccount:{namespace}:{service_account}",
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": service_account, "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{namespace}/{service_account}"))},
            },
        }
        header = {"alg": "RS256", "kid": "stub", "typ": "JWT"}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"

    def claims(self, token: str) -> dict | None:
        """The claims of a token this cluster signed and that has not expired, else None."""
        try:
            head, body, signature = token.split(".")
            self._key.public_key().verify(_unb64(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
            claims = json.loads(_unb64(body))
        except (ValueError, InvalidSignature):
            return None
        return claims if claims.get("exp", 0) > time.time() else None

    def review(self, reviewer: str, token: str, audiences: list[str]) -> tuple[int, dict]:
        caller = self.claims(reviewer)
        if caller is None or self.api_audience not in caller["aud"]:
            return 401, {"kind": "Status", "status": "Failure", "reason": "Unauthorized", "code": 401}
        self.reviews.append({"reviewer": caller["sub"], "audiences": audiences})
        status: dict = {"authenticated": False}
        claims = self.claims(token)
        if claims is not None:
            wanted = audiences or [self.api_audience]
            common = [a for a in claims["aud"] if a in wanted]
            if common:
                sa = claims["kubernetes.io"]
                status = {
                    "authenticated": True,
                    "user": {
                        "username": claims["sub"],
                        "uid": sa["serviceaccount"]["uid"],
                        "groups": ["system:serviceaccounts", f"system:serviceaccounts:{sa['namespace']}", "system:authenticated"],
                    },
                    "audiences": common,
                }
            else:
                status = {"authenticated": False, "error": "token audiences do not match"}
        return 201, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": "", "audiences": audiences}, "status": status}


@contextmanager
def api_server(api_audience: str) -> Iterator[Cluster]:
    cluster = Cluster(api_audience)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's method name
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            reviewer = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if self.path != "/apis/authentication.k8s.io/v1/tokenreviews":
                code, answer = 404, {"kind": "Status", "code": 404}
            else:
                spec = body.get("spec", {})
                code, answer = cluster.review(reviewer, spec.get("token", ""), spec.get("audiences") or [])
            payload = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with serving(server) as port:
        cluster.url = f"http://127.0.0.1:{port}"
        yield cluster

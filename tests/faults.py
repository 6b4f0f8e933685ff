"""Faulty endpoints on 127.0.0.1 for the tools' fault tests, in-process, stopped with the block.

- ``refused()``: a free port nobody listens on (connections are refused);
- ``endpoint(...)``: an HTTP(S) server that answers every request with one
  status and body (429, 5xx, 403 ...), except the paths given in ``paths``; or,
  ``silent=True``, accepts connections and never answers (released when the
  block ends); ``tls=`` serves HTTPS with a certificate from ``tls_pair``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.servers import free_port, serving


def refused() -> str:
    return f"http://127.0.0.1:{free_port()}"


@dataclass
class Endpoint:
    url: str = ""
    requests: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TlsPair:
    ca_pem: bytes
    cert_file: Path
    key_file: Path


def tls_pair(workdir: Path, name: str = "test-ca") -> TlsPair:
    """A CA and a server certificate for 127.0.0.1 signed by it (files under ``workdir``)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = workdir / f"{name}-server.pem", workdir / f"{name}-server.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return TlsPair(ca.public_bytes(serialization.Encoding.PEM), cert_file, key_file)


@contextmanager
def endpoint(status: int = 500, body: bytes = b"{}", *, content_type: str = "application/json", silent: bool = False,
             paths: dict[str, tuple[int, bytes]] | None = None, tls: TlsPair | None = None) -> Iterator[Endpoint]:
    released = threading.Event()
    answered = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self):
            answered.requests.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if silent:
                released.wait(120)
                self.close_connection = True
                return
            code, payload = (paths or {}).get(self.path.split("?")[0], (status, body))
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any  # noqa: N815 - http.server's names

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    scheme = "http"
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert_file, tls.key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    with serving(server) as port:
        answered.url = f"{scheme}://127.0.0.1:{port}"
        try:
            yield answered
        finally:
            released.set()

"""A small Kubernetes API server on 127.0.0.1 for the kubectl tools (verify, force-sync, preflight).

It answers discovery (``/api``, ``/apis`` and the resource lists of the groups
the tools use, legacy format) and GET/PATCH of the objects a test puts in
``objects`` by API path, as kube-apiserver does: a ``Status`` 404 for an
absent object (reason ``NotFound``, so kubectl prints ``(NotFound)``), a merge
of the patch into the stored object. Faults, per server: ``hang_objects``
(discovery answers, every object call hangs: the state that made the tools
wait 300 s), ``silent`` (every request hangs, discovery included) and
``status`` (every object call answers that HTTP status). Hanging handlers are
released when the server stops, so nothing outlives the block.

Real kubectl talks to it through a kubeconfig the test writes (``kubeconfig``).
"""

from __future__ import annotations

import base64
import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from components.eso_api import API_VERSION
from tests.servers import serving

HANG_LIMIT_SECONDS = 120
"""A hanging handler gives up after this even if the server is not stopped."""

_GROUPS = {
    "apiextensions.k8s.io/v1": [("customresourcedefinitions", "CustomResourceDefinition", False, ["crd", "crds"])],
    API_VERSION: [("clustersecretstores", "ClusterSecretStore", False), ("externalsecrets", "ExternalSecret", True)],
    "apps/v1": [("deployments", "Deployment", True)],
}
_CORE = [("secrets", "Secret", True), ("serviceaccounts", "ServiceAccount", True), ("namespaces", "Namespace", False)]
_VERBS = ["get", "list", "patch", "update", "create", "delete", "watch"]


def _resource_list(group_version: str, resources) -> dict:
    return {
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
        "resources": [
            {"name": n, "singularName": k.lower(), "namespaced": ns, "kind": k, "verbs": _VERBS, "shortNames": list(short[0]) if short else []}
            for n, k, ns, *short in resources
        ],
    }


@dataclass
class ApiServer:
    url: str = ""
    objects: dict[str, dict] = field(default_factory=dict)
    """API path (``/apis/<group>/<version>/namespaces/aragora/externalsecrets/x``) -> the object."""
    hang_objects: bool = False
    silent: bool = False
    status: int | None = None
    requests: list[str] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    groups: tuple[str, ...] = tuple(_GROUPS)
    """The API groups the server serves (drop ESO's ``API_VERSION`` for a cluster without ESO)."""

    def put(self, path: str, obj: dict) -> None:
        self.objects[path] = obj

    def discovery(self, path: str) -> dict | None:
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/api/v1":
            return _resource_list("v1", _CORE)
        if path == "/apis":
            groups = {}
            for gv in self.groups:
                group, version = gv.split("/")
                groups.setdefault(group, []).append({"groupVersion": gv, "version": version})
            return {
                "kind": "APIGroupList", "apiVersion": "v1",
                "groups": [{"name": g, "versions": v, "preferredVersion": v[0]} for g, v in groups.items()],
            }
        gv = path.removeprefix("/apis/")
        if path.startswith("/apis/") and gv in self.groups:
            return _resource_list(gv, _GROUPS[gv])
        return None

    def list_of(self, path: str) -> dict | None:
        """A collection GET (``.../customresourcedefinitions``): every stored object below it."""
        items = [o for p, o in self.objects.items() if p.rsplit("/", 1)[0] == path]
        return {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items} if items or path.endswith("definitions") else None


def not_found(path: str) -> dict:
    kind, name = path.rstrip("/").split("/")[-2:]
    return {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
        "message": f'{kind} "{name}" not found', "details": {"name": name, "kind": kind},
    }


def _merge(base: dict, patch: dict) -> dict:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


@contextmanager
def api_server(**faults) -> Iterator[ApiServer]:
    api = ApiServer(**faults)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, code: int, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _handle(self, method: str) -> None:
            path = urlsplit(self.path).path.rstrip("/") or "/"
            api.requests.append(f"{method} {path}")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            found = api.discovery(path) if method == "GET" else None
            if api.silent or (found is None and api.hang_objects):
                api.released.wait(HANG_LIMIT_SECONDS)
                self.close_connection = True
                return
            if found is not None:
                return self._answer(200, found)
            if api.status:
                return self._answer(api.status, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": api.status,
                                                 "message": f"injected fault {api.status}", "reason": "InternalError" if api.status >= 500 else "Forbidden"})
            obj = api.objects.get(path)
            if method == "PATCH" and obj is not None:
                return self._answer(200, _merge(obj, json.loads(body or b"{}")))
            if obj is None and method == "GET":
                obj = api.list_of(path)
            return self._answer(200, obj) if obj is not None else self._answer(404, not_found(path))

        def do_GET(self):  # noqa: N802 - http.server's method names
            self._handle("GET")

        def do_PATCH(self):  # noqa: N802
            self._handle("PATCH")

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with serving(server) as port:
        api.url = f"http://127.0.0.1:{port}"
        try:
            yield api
        finally:
            api.released.set()


def kubeconfig(path: Path, context: str | dict[str, str], server: str = "") -> Path:
    """A kubeconfig whose ``context`` points at ``server`` (plain http, a static token); ``context`` may be a
    map of several contexts to their servers (one per cluster of a stack)."""
    servers = context if isinstance(context, dict) else {context: server}
    clusters = [{"name": f"stub-{i}", "cluster": {"server": url}} for i, url in enumerate(servers.values())]
    contexts = [{"name": name, "context": {"cluster": f"stub-{i}", "user": "stub"}} for i, name in enumerate(servers)]
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "somewhere-else",
        "clusters": [*clusters, {"name": "other", "cluster": {"server": "http://127.0.0.1:1"}}],
        "users": [{"name": "stub", "user": {"token": "stub-token"}}],
        "contexts": [*contexts, {"name": "somewhere-else", "context": {"cluster": "other", "user": "stub"}}],
    }))
    return path


def ready(kind: str, name: str, namespace: str | None = None, status: str = "True") -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": meta,
            "status": {"conditions": [{"type": "Ready", "status": status, "reason": "SecretSynced" if status == "True" else "SecretSyncedError"}]}}


def secret(name: str, namespace: str, data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}, "type": "Opaque", "data": data}


@contextmanager
def deployed(stack: str, tmp_path: Path, monkeypatch) -> Iterator[ApiServer]:
    """A healthy cluster as ``stack`` deployed it (names from the catalog and its plan): the store and every
    ExternalSecret Ready, every catalog key in every Secret, the CRDs of tests/fixtures/crds-v1-only.json;
    the real kubectl (alone on PATH: no pulumi CLI) pointed at it through KUBECONFIG."""
    with deployed_clusters(stack, None, tmp_path, monkeypatch) as clusters:
        (api,) = clusters.values()
        yield api


@contextmanager
def deployed_clusters(stack: str, config_file: Path | None, tmp_path: Path, monkeypatch) -> Iterator[dict[str, ApiServer]]:
    """``deployed`` for every cluster of the plan (each Kubernetes provider's context, in the plan's order):
    one healthy API server per context, all in one KUBECONFIG. Yields ``{context: server}``."""
    from infra import catalog
    from tests.support import render

    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: `make tools` installs it"
    secrets = catalog.CATALOG
    namespace = secrets.app.namespace
    plan = render(stack, config_file)
    contexts = [r["inputs"]["context"] for r in plan.resources if r["type"] == "pulumi:providers:kubernetes"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "kubectl").symlink_to(kubectl)
    with ExitStack() as stack_of_servers:
        servers = {context: stack_of_servers.enter_context(api_server()) for context in contexts}
        monkeypatch.setenv("PATH", str(bin_dir))
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "kubeconfig", {c: api.url for c, api in servers.items()})))
        monkeypatch.setenv("KUBECACHEDIR", str(tmp_path / "kube-cache"))
        monkeypatch.setenv("HOME", str(tmp_path))
        store = plan.outputs["storeName"]
        for api in servers.values():
            api.put(f"/apis/{API_VERSION}/clustersecretstores/{store}", ready("ClusterSecretStore", store))
            for sync, entries in secrets.by_sync_class.items():
                name = secrets.target_secret(sync)
                api.put(f"/apis/{API_VERSION}/namespaces/{namespace}/externalsecrets/{name}", ready("ExternalSecret", name, namespace))
                data = {e.env_var: base64.b64encode(f"planted-{e.env_var}".encode()).decode() for e in entries}
                api.put(f"/api/v1/namespaces/{namespace}/secrets/{name}", secret(name, namespace, data))
            for crd in json.loads((Path(__file__).parent / "fixtures" / "crds-v1-only.json").read_text())["items"]:
                api.put(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}", crd)
        yield servers

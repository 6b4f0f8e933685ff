"""The backend contract: what every secret backend declares about itself.

A backend is a package ``infra/backends/<name>/`` (the name is its
``backend`` config value) whose ``__init__.py`` defines ``BACKEND =
Backend(...)``: the small core every stack needs (settings, ``Pulumi.yaml``
keys, ``declare`` and the facts of its resource types). Everything only some
tool needs is a *capability*, one optional file of the package, loaded when a
tool asks for it with ``capability(backend, KIND)``:

==========================  ====================  =================================
capability                  file                  asked by
==========================  ====================  =================================
``ACCESS_DOCUMENTS``        ``access.py``         ``plan --out`` (policies/)
``WORKSPACE``               ``workspace.py``      ``make operator``
``VALUE_READER``            ``reader.py``         ``make check-values``, ``make verify BACKEND=1``
``ROTATION_READER``         ``reader.py``         ``make rotation-report``
``STAMP_METADATA``          ``stamp.py``          ``make rotation-report STAMP=1``
``PRICE_SHEET``             ``prices.json``       the cost estimate
``CI_CREDENTIALS``          ``ci.py``             CI's stack-credentials action
==========================  ====================  =================================

A backend without one makes that tool say "<capability> is not available for
<backend>" (``CapabilityMissing``, one line, exit 2), never fail elsewhere.
Nothing outside the package names a backend.

``Backend`` is importable without any provider SDK: ``declare`` (the module
that declares resources through ``components/``) is imported only for the
selected backend, and the client libraries of the capabilities (boto3, hvac,
google-cloud) only when they run.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pulumi

from components.facts import Facts
from components.service_account import ServiceAccount
from infra.catalog import Catalog, SecretEntry
from infra.fields import BackendSettings, ConfigError

if TYPE_CHECKING:
    import pulumi_kubernetes as k8s

    from infra.clusters import Cluster


@dataclass(frozen=True)
class RemoteRef:
    """Where an ExternalSecret reads one value: ``remoteRef.key`` and, in a JSON secret, ``property``."""

    key: str
    property: str | None = None


@dataclass(frozen=True)
class Declared:
    """A backend's cloud side, declared, and what the rest of the stack needs from it."""

    store_name: str
    """Name of the ClusterSecretStore."""
    store_provider: dict[str, Any]
    """The store's ``spec.provider`` block, from the backend's pure ``store_provider(...)``."""
    remote_ref: Callable[[SecretEntry], RemoteRef]
    """How a catalog entry maps to a remote key in this backend."""
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """For ESO's service account (IRSA role ARN, GCP service account)."""
    grants: tuple[pulumi.Resource, ...] = ()
    """Access that must exist before the store is created, or ESO fails to validate it."""
    outputs: Mapping[str, pulumi.Input[Any]] = field(default_factory=dict)
    """Stack outputs of this backend."""
    egress_ports: tuple[int, ...] = (443,)
    """TCP ports of the backend's API: the ESO controller's NetworkPolicy allows egress to these."""
    clusters: Mapping[str, Declared] = field(default_factory=dict)
    """The environment's other clusters (``infra.clusters``), by name: what each one's store and ESO
    use; the home cluster uses this record itself. Empty for a single-cluster stack."""


_NS = uuid.UUID("6c1b0a4e-8e52-4d8a-9d3c-5a2f2a6f1b01")
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class MockRequest:
    """One resource registration under the offline plan's mocks, with stable id material."""

    typ: str
    name: str
    inputs: dict[str, Any]
    provider: dict[str, Any]
    """The inputs of the resource's provider (region, account, project, ...)."""
    stack: str

    @property
    def region(self) -> str:
        return self.provider.get("region", "us-east-1")

    @property
    def account(self) -> str:
        # Provider config arrives JSON-encoded, as the engine passes it.
        accounts = self.provider.get("allowedAccountIds") or []
        accounts = json.loads(accounts) if isinstance(accounts, str) else accounts
        return accounts[0] if accounts else "000000000000"

    @property
    def project(self) -> str:
        # A resource's own `project` wins over its provider's, as in the provider.
        return self.inputs.get("project") or self.provider.get("project", "example-project")

    @property
    def seed(self) -> str:
        """The stack is part of every id: two stacks in one account never share a key ARN."""
        return f"{self.stack}/{self.account}/{self.region}/{self.project}/{self.typ}/{self.name}"

    def uuid(self) -> str:
        return str(uuid.uuid5(_NS, self.seed))

    def suffix(self, length: int = 6) -> str:
        """Letters and digits from the seed, e.g. the 6 characters Secrets Manager appends to an ARN."""
        digest = hashlib.sha256(self.seed.encode()).digest()
        return "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in digest[:length])

    def hex(self, length: int) -> str:
        return hashlib.sha256(self.seed.encode()).hexdigest()[:length]


Mocked = tuple[str, dict[str, Any]]
"""``(id, outputs)`` of a mocked resource."""


@dataclass(frozen=True)
class Workspace:
    """What a Pulumi Kubernetes Operator workspace needs to run a stack of this backend (``make operator``)."""

    identity_key: str
    """The config key naming the cloud identity the workspace runs as ("" when the backend has none)."""
    identity: str | None
    """Its value; None: not configured, and the generator refuses the stack."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """On the workspace's service account: how the cluster hands it that identity (IRSA, Workload Identity)."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Non-secret environment of the workspace (region, address)."""


@dataclass(frozen=True)
class Backend:
    """What one backend is, small by design: its settings, its Pulumi.yaml keys, ``declare``, and the facts
    of every resource type it declares. What only some tool needs is a capability (``capability(...)``)."""

    settings: type[BackendSettings]
    """Its config keys (``settings.name`` is the ``backend`` value and the package's name, ``settings.store_name`` the store)."""
    keys: Mapping[str, Mapping[str, Any]]
    """Its keys as ``Pulumi.yaml`` declares them (type, default, description), in order: ``make docs`` writes
    them into ``Pulumi.yaml`` and ``docs/configuration.md``; a test fails when those are stale."""
    resources: Mapping[str, Facts]
    """Every resource type it can declare, its provider included -> what the tooling must know of it
    (replacing inputs, data-loss note, grant, unique inputs, billed units, mock)."""

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def billed(self) -> dict[str, Callable[..., Mapping[str, float]]]:
        """Type -> its ``Facts.billed``, for the types that bill (a view of ``resources``)."""
        return {t: f.billed for t, f in self.resources.items() if f.billed is not None}

    @property
    def package(self) -> str:
        """``infra.backends.<name>``: where its capabilities are looked up."""
        return f"{__name__.rsplit('.', 1)[0]}.{self.name}"

    def declare(
        self,
        environment: str,
        settings: BackendSettings,
        secrets: Catalog,
        k8s_provider: k8s.Provider,
        eso: ServiceAccount,
        clusters: Sequence[Cluster] = (),
        k8s_providers: Mapping[str, k8s.Provider] | None = None,
    ) -> Declared:
        """Declare the backend's cloud side for ESO's service account ``eso``; only now is its provider SDK imported.

        ``clusters``: the environment's clusters, home first (``infra.clusters``), and ``k8s_providers``
        each one's Kubernetes provider by cluster name; passed on only when the stack sets ``clusters``,
        so a stack without it declares exactly as it always has."""
        module = importlib.import_module(f"{self.package}.declare")
        if clusters and clusters[0].name:
            return module.declare(environment, settings, secrets, k8s_provider, eso, clusters=clusters, k8s_providers=k8s_providers)
        return module.declare(environment, settings, secrets, k8s_provider, eso)


# --- capabilities: what a tool asks of a backend, each one file of the package, loaded when asked ---------

T = TypeVar("T")


class CapabilityMissing(ConfigError):
    """The selected backend does not provide what a tool asked for. Every tool prints it as one line, exit 2."""

    def __init__(self, kind: Capability, backend: str):
        super().__init__(f"{kind.label} is not available for {backend}")
        self.kind = kind
        self.backend = backend


@dataclass(frozen=True)
class Capability(Generic[T]):
    """One optional part of a backend: ``infra/backends/<name>/<file>``, a module attribute or a JSON file."""

    label: str
    """What a tool asked for, as the error names it ("workspace is not available for <backend>")."""
    file: str
    """A module name (``workspace``) or a data file (``prices.json``) of the backend's package."""
    attribute: str = ""
    """The module's attribute that is the capability; "" for a data file."""

    def available(self, backend: Backend) -> bool:
        if not self.attribute:
            return (_package_dir(backend) / self.file).is_file()
        return importlib.util.find_spec(f"{backend.package}.{self.file}") is not None and hasattr(
            importlib.import_module(f"{backend.package}.{self.file}"), self.attribute
        )


def _package_dir(backend: Backend) -> Path:
    return Path(importlib.import_module(backend.package).__file__).parent


def capability(backend: Backend, kind: Capability[T]) -> T:
    """``kind`` of ``backend``, loaded now; raises ``CapabilityMissing`` when the backend has none."""
    if not kind.attribute:
        path = _package_dir(backend) / kind.file
        if not path.is_file():
            raise CapabilityMissing(kind, backend.name)
        return json.loads(path.read_text())
    if importlib.util.find_spec(f"{backend.package}.{kind.file}") is None:
        raise CapabilityMissing(kind, backend.name)
    module = importlib.import_module(f"{backend.package}.{kind.file}")
    if not hasattr(module, kind.attribute):
        raise CapabilityMissing(kind, backend.name)
    return getattr(module, kind.attribute)


AccessDocuments = Callable[[str, list[dict[str, Any]]], dict[str, str]]
ReaderFactory = Callable[[str, Any, Catalog], Any]

ACCESS_DOCUMENTS: Capability[AccessDocuments] = Capability("access documents", "access", "documents")
"""``(stack, resources) -> {file name: text}``: what ``plan --out`` writes to policies/."""
WORKSPACE: Capability[Callable[[Any], Workspace]] = Capability("workspace", "workspace", "workspace")
"""``settings -> Workspace``: how a Pulumi Kubernetes Operator workspace gets credentials (``make operator``)."""
VALUE_READER: Capability[Callable[..., list[Any]]] = Capability("value reader", "reader", "reader")
"""``reader(environment, settings, catalog, *, deadline) -> [Reading]`` (``infra.backends.reading``): each value
as the backend holds it (``make check-values``, ``make verify BACKEND=1``)."""
ROTATION_READER: Capability[Callable[..., list[Any]]] = Capability("rotation reader", "reader", "reader")
"""The same reader, asked by ``make rotation-report`` (when each value was written)."""
STAMP_METADATA: Capability[Callable[[str, Any, Catalog], list[str]]] = Capability("rotation metadata stamping", "stamp", "stamp_metadata")
"""``(environment, settings, catalog) -> locations``: each value's rotation policy as backend metadata (``STAMP=1``)."""
PRICE_SHEET: Capability[dict[str, Any]] = Capability("price sheet", "prices.json")
"""``{"source": [...], "units": {unit: {price, per, what[, per_call]}}}``: list prices of its billed units."""
CI_CREDENTIALS: Capability[tuple[str, ...]] = Capability("CI credentials", "ci", "INPUTS")
"""Inputs of ``.github/actions/stack-credentials`` this backend's CI runs need."""

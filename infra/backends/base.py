"""The backend contract: what every secret backend declares about itself.

A backend is a package ``infra/backends/<name>/`` whose ``__init__.py``
defines ``BACKEND = Backend(...)``. Everything outside the package that needs
something of a backend (the stack, the offline plan's mocks and replacement
table, the plan diff's data-loss notes, the age report, the value check, CI's
credentials, the tests) reads it from here; nothing outside names a backend.

``Backend`` is importable without any provider SDK: ``declare`` (the module
that declares resources through ``components/``) is imported only for the
selected backend, and the client libraries of the tooling callables (boto3,
hvac, google-cloud) only when they run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from components.service_account import ServiceAccount
from infra.catalog import Catalog, SecretEntry
from infra.fields import BackendSettings

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
AgeReader = Callable[[SecretEntry], tuple[str, dt.datetime | None]]
"""A value's location and when its current version was written (None: no value yet)."""
PresenceReader = Callable[[SecretEntry], tuple[str, bool]]
"""A value's location and whether the backend holds it."""
Billed = Callable[[dict[str, Any]], Mapping[str, float]]
"""A declared resource's inputs -> what it bills per month, by the units of its price sheet."""


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
    note: str = ""
    """What the platform must set up beside the manifests, for docs/operator.md and the generator's output."""


def _no_mock(request: MockRequest) -> Mocked | None:
    return None


@dataclass(frozen=True)
class Backend:
    """What one backend declares about itself. Every field is read by something outside the package."""

    settings: type[BackendSettings]
    """Its config keys (``settings.name`` is the ``backend`` value, ``settings.store_name`` the store)."""
    replace_on: Mapping[str, tuple[str, ...]]
    """Every resource type it declares, its provider included -> the input paths whose change
    replaces the resource (the provider's "forces new resource"); the plan diff reads it."""
    value_types: Mapping[str, str]
    """Types that hold values or decrypt them -> what deleting one does (the diff's data-loss note)."""
    grant_types: tuple[str, ...]
    """Types that give ESO access; the store must depend on every one the stack declares."""
    access_documents: Callable[[str, list[dict[str, Any]]], dict[str, str]]
    """``(stack, resources) -> {file name: text}``: the access documents ``plan --out`` writes to policies/."""
    value_age: Callable[[str, Any, Catalog], AgeReader]
    """``(environment, settings, catalog)``: the age report's reader (metadata only, never a value)."""
    value_presence: Callable[[str, Any, Catalog], PresenceReader]
    """``(environment, settings, catalog)``: the value check's reader (metadata only, never a value)."""
    credentials: Callable[[Any], str]
    """``settings -> hint``: the environment variables the tooling reads, for an error message."""
    ci_inputs: tuple[str, ...]
    """Inputs of ``.github/actions/stack-credentials`` this backend's CI runs need."""
    mock: Callable[[MockRequest], Mocked | None] = _no_mock
    """Provider-computed outputs (ARNs, emails) the program reads; None: echo the inputs."""
    stamp_metadata: Callable[[str, Any, Catalog], list[str]] | None = None
    """Optional: write each value's rotation policy as backend metadata (``make rotation-report STAMP=1``)."""
    unique_on: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Type -> the inputs that must be unique where it lives (a Vault path, a secret's name): a
    replacement that keeps them collides with the old object, which the plan diff flags."""
    workspace: Callable[[Any], Workspace] | None = None
    """``settings -> Workspace``: how the operator's workspace gets this backend's credentials
    without a static secret; None: the backend cannot run under ``make operator`` yet."""
    billed: Mapping[str, Billed] = field(default_factory=dict)
    """Resource type -> its monthly billed units (e.g. secret-months), priced by the backend's
    sheet in ``infra/prices.json``; the provider calls ESO's refreshes make are counted by the
    plan itself (unit ``calls``)."""

    @property
    def name(self) -> str:
        return self.settings.name

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
        module = importlib.import_module(f"{type(self).__module__.rsplit('.', 1)[0]}.{self.name}.declare")
        if clusters and clusters[0].name:
            return module.declare(environment, settings, secrets, k8s_provider, eso, clusters=clusters, k8s_providers=k8s_providers)
        return module.declare(environment, settings, secrets, k8s_provider, eso)

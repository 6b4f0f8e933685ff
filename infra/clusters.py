"""Many clusters (and regions) per environment: the ``clusters`` config key.

``aragora-secrets:clusters`` maps a short cluster name to that cluster's keys,
spelt as the per-cluster keys at the top level (``CLUSTER_KEYS``), plus
``awsReadRegion``: the region that cluster's store reads (by default its own
``awsRegion``). A key a cluster does not set is the top-level one, so the
top level is every cluster's default; a per-cluster key the top level leaves
unset may be spelt by the first cluster instead (``lift_home``). The top-level
``awsRegion`` is the environment's primary region (AWS creates the secrets there and replicates
them to every other cluster region).

Each entry is parsed by the very models that parse the top level (the common
settings and the selected backend's), so every existing rule holds for each
cluster; a rejection names ``clusters.<name>.<key>``.

Resource names (and so URNs): the first entry is the stack's home cluster and
keeps the names a single-cluster stack has (``k8s``, ``eso``, ``store``,
``app-secrets``, ...); every other cluster's are suffixed with its name
(``eso-west``). So a stack without ``clusters`` is one home cluster built
from today's keys, and moving a stack to ``clusters`` with its cluster as the
first entry changes no URN, with no alias to carry. The home entry must run in
the top-level ``kubeContext``: a reordered map (another cluster first) would
hand the home names, and so the live objects, to another cluster, and is
refused. A cluster's name is its identity: renaming one replaces its objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator

from infra import separation
from infra.fields import PROJECT, ConfigError, quote, quote_key, reject
from infra.separation import Claim
from infra.stackfiles import encode_value, project_defaults

if TYPE_CHECKING:
    from infra.config import CommonSettings
    from infra.fields import BackendSettings

KEY = "clusters"
READ_REGION = "awsReadRegion"
CLUSTER_KEYS = (
    "kubeContext",
    "kubeconfig",
    "awsRegion",
    "awsOidcProviderArn",
    "awsEksClusterName",
    "gcpClusterName",
    "gcpClusterLocation",
    "vaultAddress",
    "vaultKubernetesHost",
    "vaultKubernetesCaCert",
    "vaultAuthMount",
    "esoInstall",
    "esoServiceAccount",
    "esoReplicas",
    "esoValues",
)
"""The top-level keys a cluster may set for itself; every other key is the environment's."""
# A suffix of Pulumi resource names (``eso-west``): short, lower case, stable.
NAME = r"[a-z](?:[a-z0-9-]{0,18}[a-z0-9])?"
NAME_RULE = "a short cluster name: lower-case letters, digits and '-', 1-20 characters, starting with a letter"
_EXAMPLE = "{east: {}, west: {kubeContext: aragora-production-west, awsRegion: us-west-2, ...}}"


def cluster_map() -> Any:
    """The shape of ``clusters``: a map of names to maps (the CLI passes a YAML map as JSON); entries are parsed by ``resolve``."""

    def check(value: Any) -> dict:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError:
                raise ValueError(f"is not a map of clusters (allowed: a YAML map of cluster name to its keys, e.g. {_EXAMPLE})") from None
        if not isinstance(value, dict):
            raise ValueError(f"is not a map of clusters (allowed: a YAML map of cluster name to its keys, e.g. {_EXAMPLE})")
        return value

    return Annotated[dict, BeforeValidator(check)]


@dataclass(frozen=True)
class Cluster:
    """One cluster of the environment, its settings parsed as a whole stack's would be."""

    name: str
    """Its key in ``clusters`` ("" for a stack without ``clusters``)."""
    home: bool
    """The first cluster: its resources keep the single-cluster names."""
    common: CommonSettings
    backend: BackendSettings
    read_region: str | None = None
    """AWS: the region its store reads (a replica's, to fail over); None: its own ``awsRegion``."""

    def resource_name(self, base: str) -> str:
        """``base`` for the home cluster, ``base-<name>`` for the others."""
        return base if self.home else f"{base}-{self.name}"

    def key(self, key: str) -> str:
        """How a message names ``key`` of this cluster."""
        return key if not self.name else f"{KEY}.{self.name}.{key}"


def lift_home(raw: Mapping[str, Any]) -> tuple[dict[str, Any], Callable[[ConfigError], ConfigError]]:
    """``raw`` with each per-cluster key the top level leaves unset (absent or empty) taken from the
    first cluster's entry (the home cluster *is* the top level, whichever of the two spells it), and
    how to name an error about a key so taken: ``clusters.<home>.<key>``, where the user wrote it."""
    out = dict(raw)
    lifted: set[str] = set()
    try:
        entries = json.loads(raw[KEY]) if isinstance(raw.get(KEY), str) and raw[KEY].strip() else raw.get(KEY)
    except ValueError:
        entries = None  # the field's own rule says why
    home_name, home = next(iter(entries.items())) if isinstance(entries, dict) and entries else ("", None)
    if isinstance(home, dict):
        for key in CLUSTER_KEYS:
            if key in home and out.get(key) in (None, ""):
                out[key] = _encode(home[key])
                lifted.add(key)

    def named(err: ConfigError) -> ConfigError:
        key = str(err).removeprefix(f"{PROJECT}:").split(":", 1)[0]
        return _as_cluster_error(home_name, err) if key in lifted else err

    return out, named


def _as_cluster_error(name: str, err: ConfigError) -> ConfigError:
    """``aragora-secrets:<key>: ...`` -> ``aragora-secrets:clusters.<name>.<key>: ...``."""
    text = str(err)
    head = f"{PROJECT}:"
    if text.startswith(head):
        return ConfigError(f"{head}{KEY}.{name}.{text[len(head):]}")
    return ConfigError(f"{head}{KEY}.{name}: {text}")


def resolve(raw: Mapping[str, Any], common: CommonSettings, backend: BackendSettings) -> tuple[Cluster, ...]:
    """The environment's clusters, home first; one built from the top level when ``clusters`` is empty.

    ``raw`` is the stack's whole config (as ``infra.config.parse`` gets it), ``common`` and ``backend``
    its top level, already parsed. Raises ``ConfigError`` naming ``clusters.<name>.<key>``.
    """
    entries: dict = common.clusters
    if not entries:
        return (Cluster(name="", home=True, common=common, backend=backend),)
    own = set(CLUSTER_KEYS) & set(type(common).config_keys()) | set(CLUSTER_KEYS) & set(type(backend).config_keys())
    base = {**raw, KEY: ""}  # a cluster has no clusters of its own
    parsed: list[Cluster] = []
    for index, (name, entry) in enumerate(entries.items()):
        if not isinstance(name, str) or not re.fullmatch(NAME, name, re.ASCII):
            raise ConfigError(f"{PROJECT}:{KEY}: names a cluster {quote(name)} (allowed: {NAME_RULE})")
        if entry is None or entry == "":
            entry = {}
        if not isinstance(entry, dict):
            reject(f"{KEY}.{name}", entry, f"is not a map of that cluster's keys (allowed: e.g. {{kubeContext: aragora-production-{name}}})")
        allowed = sorted(own) + ([READ_REGION] if backend.name == "aws" else [])
        for key in entry:
            if key not in allowed:
                why = "is not a per-cluster key" if key in raw or key == READ_REGION else "unknown key"
                raise ConfigError(
                    f"{PROJECT}:{KEY}.{quote_key(name)}.{quote_key(key)}: {why} (allowed: {', '.join(allowed)}; "
                    "every other key is the environment's, set at the top level)"
                )
        merged = {**base, **{k: _encode(v) for k, v in entry.items() if k != READ_REGION}}
        if index:
            # Keys of the primary region alone are judged there (the top level), never against this cluster's.
            defaults = project_defaults()
            merged.update({key: defaults[f"{PROJECT}:{key}"] for key in type(backend).primary_keys if f"{PROJECT}:{key}" in defaults})
        try:
            c_common = type(common).parse(merged)
            c_backend = type(backend).parse(merged)
            c_backend.check_kube_context(c_common.kube_context)
            c_backend.check_cluster(backend)
        except ConfigError as err:
            raise _as_cluster_error(name, err) from None
        cluster = Cluster(name=name, home=index == 0, common=c_common, backend=c_backend, read_region=entry.get(READ_REGION) or None)
        if cluster.home and c_common.kube_context != common.kube_context:
            reject(
                f"{KEY}.{name}.kubeContext",
                c_common.kube_context,
                f"is not the top-level kubeContext {common.kube_context!r} (allowed: the first cluster is the stack's own "
                "cluster, whose resources keep their names: list it first, with the top-level kubeContext)",
            )
        if cluster.home and c_backend != backend:
            # The home cluster is the top level: the backend's primary (region, trust) is declared from it.
            key = next((k for k in type(backend).config_keys() if merged.get(k) != raw.get(k)), "clusters")
            reject(cluster.key(key), entry.get(key), "differs from the top-level key in the first cluster (allowed: set it at the top level; the first cluster is the stack's own)")
        parsed.append(cluster)
    _check_distinct(parsed)
    _check_read_regions(parsed, backend)
    return tuple(parsed)


def _encode(value: Any) -> Any:
    # As the CLI hands a top-level value over: text (a map or a list as JSON, its scalars typed), so a
    # cluster's key is read by exactly the rule that reads it at the top level.
    return encode_value(value)


def regions(clusters: tuple[Cluster, ...], primary: str) -> tuple[str, ...]:
    """AWS: the primary region first, then every other region a cluster runs in, in order of appearance."""
    seen = [primary]
    for c in clusters:
        region = getattr(c.backend, "region", None)
        if region and region not in seen:
            seen.append(region)
    return tuple(seen)


def _check_read_regions(clusters: list[Cluster], backend: BackendSettings) -> None:
    primary = getattr(backend, "region", None)
    if primary is None:
        return
    environment = regions(tuple(clusters), primary)
    for c in clusters:
        if c.read_region is not None and c.read_region not in environment:
            reject(
                c.key(READ_REGION),
                c.read_region,
                f"is not a region of this environment (allowed: {', '.join(environment)}: the primary awsRegion or a cluster's, "
                "where a replica of every secret lives)",
            )


def _check_distinct(clusters: list[Cluster]) -> None:
    """Two entries naming one cluster (context, issuer, reviewed API server, a mount inside another's)
    would be one cluster twice; judged as ``infra.separation`` judges two stacks, one cluster against
    the ones before it. Facts (a project's number) may be stated by several, never two ways."""
    for index, c in enumerate(clusters):
        earlier = {other.name: cluster_claims(other) for other in clusters[:index]}
        try:
            separation.check(c.name, [replace(claim, key=c.key(claim.key)) for claim in cluster_claims(c)], earlier)
        except ConfigError as err:
            # "...: <value> is also stack <other>'s (allowed: ...; two environments never share it)"
            text = str(err).replace(" is also stack ", " is also cluster ").replace("two environments never share it", "two clusters of an environment are two clusters")
            raise ConfigError(text.replace(" in stack ", " in cluster ")) from None


def cluster_claims(cluster: Cluster) -> list[Claim]:
    """What one cluster must own alone: its context and its backend's authorities (issuer, EKS cluster, Vault reviewer)."""
    context = cluster.common.kube_context
    claims = [Claim("kubeContext", separation.context_claim(context), context, "a context of this environment's own cluster"), *cluster.backend.exclusive()]
    # A top-level key the clusters share (the deployer role, a KV mount on one server) is the
    # environment's, not the cluster's: it is claimed once, under its own name.
    shared = {k for k in type(cluster.backend).config_keys() if k not in CLUSTER_KEYS}
    return [c for c in claims if c.key not in shared]


def claims(clusters: tuple[Cluster, ...]) -> list[Claim]:
    """Every cluster's claims: the home cluster's exactly as a single-cluster stack's, each other's named as it spells them."""
    home = clusters[0]
    context = home.common.kube_context
    out = [Claim("kubeContext", separation.context_claim(context), context, "a context of this environment's own cluster"), *home.backend.exclusive()]
    for c in clusters[1:]:
        out += [replace(claim, key=c.key(claim.key)) for claim in cluster_claims(c)]
    return out

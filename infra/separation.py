"""Cross-environment separation: no two stacks of a project share what keeps them apart.

Each stack claims things it must own alone: its cluster context, and what its
backend names (``BackendSettings.exclusive()``: the OIDC provider or EKS
cluster ESO's role trusts, the GCP project and Workload Identity pool, the
Vault server's auth and KV mounts). Two stacks claiming the same thing could
read each other's values, or fight over one object; the second stack is
refused with one line naming the key and the other stack.

What stays allowed: one AWS account for several environments with different
clusters (the ``aragora/<env>/`` prefix and exact ARNs keep them apart); one
Vault server with distinct mounts, or one KV mount that no stack owns
(``vaultAdoptKvMount`` on every stack that uses it). Claims compare
authorities, not spellings: the OIDC issuer whatever account registers it, a
Vault server as ``https://<host>:<port>``, the API server a Vault auth mount
reviews tokens against, a cluster by its CA, an IAM role by its case-folded name
whatever its path, an EKS cluster whether a context ARN or Pod Identity names
it, a Vault mount path with every path inside it. A fact (a GCP project
number is one project's) may be stated by every stack, but never two ways.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from infra.fields import PROJECT, ConfigError, quote


@dataclass(frozen=True)
class Claim:
    """Something one stack must own alone."""

    key: str
    """The config key a conflict is reported on."""
    identity: str
    """What is compared between stacks, prefixed by its kind (e.g. ``vault-auth/<server>/<mount>``)."""
    shown: str
    """The value as the key holds it, for the message."""
    allowed: str
    shared: bool = False
    """Used, not owned (an adopted mount): several stacks may share it, as long as none owns it."""
    path: bool = False
    """The identity ends in a path (a Vault mount): it also collides with any path inside it or around it,
    as Vault refuses a mount inside another and routes a path to the mount that contains it."""
    fact: str | None = None
    """A fact, not an ownership: ``identity`` is what is described (a GCP project number) and ``fact`` what
    it is (its project); every stack may state it, but all must state the same."""


_EKS_CONTEXT = re.compile(
    r"arn:(?P<partition>aws[a-z-]{0,16}):eks:(?P<region>[a-z0-9-]{1,32}):(?P<account>[0-9]{12}):cluster/(?P<cluster>[A-Za-z0-9][A-Za-z0-9_-]{0,99})"
)
_GKE_CONTEXT = re.compile(r"gke_(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9])_(?P<location>[a-z]{1,20}-[a-z]{1,20}[0-9]{1,2}(?:-[a-z])?)_(?P<cluster>[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)")


def eks_cluster(partition: str, account: str, region: str, cluster: str) -> str:
    """An EKS cluster as a claim, however the stack names it (Pod Identity's cluster, a context ARN)."""
    return f"eks/{partition}/{account}/{region}/{cluster}"


def parse_eks_context(context: str) -> re.Match[str] | None:
    """The parts of an EKS cluster ARN used as a context name (``aws eks update-kubeconfig``), else None."""
    return _EKS_CONTEXT.fullmatch(context) if len(context) <= 256 else None


def context_claim(context: str) -> str:
    """The cluster a kubeconfig context names, as a claim: an EKS ARN or a gcloud GKE name is its cluster
    (so a neighbour's Pod Identity cluster collides with it); any other name is only itself."""
    eks = parse_eks_context(context)
    if eks:
        return eks_cluster(eks["partition"], eks["account"], eks["region"], eks["cluster"])
    gke = _GKE_CONTEXT.fullmatch(context) if len(context) <= 128 else None
    if gke:
        return f"gke/{gke['project']}/{gke['location']}/{gke['cluster']}"
    return f"context/{context}"


def _inside(a: str, b: str) -> bool:
    """Is path identity ``a`` the same as ``b``, or inside or around it (segment by segment)?"""
    return a == b or a.startswith(f"{b}/") or b.startswith(f"{a}/")


def check(stack: str, claims: Iterable[Claim], others: dict[str, Iterable[Claim]]) -> None:
    """Refuse ``stack`` when one of its claims is also another stack's (unless both only use it), when a
    path it owns contains or sits in another's, or when it states a fact another stack states otherwise."""
    owned: list[tuple[Claim, str]] = []
    for name, cs in sorted(others.items()):
        if name != stack:
            owned += [(c, name) for c in cs]
    for claim in claims:
        for other, name in owned:
            if claim.fact is not None or other.fact is not None:
                if claim.identity == other.identity and claim.fact != other.fact:
                    raise ConfigError(
                        f"{PROJECT}:{claim.key}: {quote(claim.shown)} is {claim.fact} here but {other.fact} in stack {name} "
                        f"(allowed: {claim.allowed}; one value means one thing in every stack)"
                    )
                continue
            same = _inside(claim.identity, other.identity) if (claim.path or other.path) else claim.identity == other.identity
            if same and not (claim.shared and other.shared):
                raise ConfigError(
                    f"{PROJECT}:{claim.key}: {quote(claim.shown)} is also stack {name}'s "
                    f"(allowed: {claim.allowed}; two environments never share it)"
                )

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
reviews tokens against.
"""

from __future__ import annotations

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


def check(stack: str, claims: Iterable[Claim], others: dict[str, Iterable[Claim]]) -> None:
    """Refuse ``stack`` when one of its claims is also another stack's (unless both only use it)."""
    taken: dict[str, tuple[str, bool]] = {}
    for name, cs in sorted(others.items()):
        if name == stack:
            continue
        for c in cs:
            # An owner wins over a user: sharing with an owner is a conflict.
            if c.identity not in taken or not c.shared:
                taken[c.identity] = (name, c.shared)
    for claim in claims:
        other, other_shared = taken.get(claim.identity, (None, True))
        if other is not None and not (claim.shared and other_shared):
            raise ConfigError(
                f"{PROJECT}:{claim.key}: {quote(claim.shown)} is also stack {other}'s "
                f"(allowed: {claim.allowed}; two environments never share it)"
            )

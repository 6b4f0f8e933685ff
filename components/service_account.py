"""A Kubernetes service account, as every backend's grant names it.

Not a resource: the value every identity component takes to say *who* may
read (IRSA trust, Pod Identity association, Vault role, Workload Identity
member) and that the store's ``serviceAccountRef`` points at.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceAccount:
    """A Kubernetes service account: what every backend grants access to."""

    namespace: str
    name: str

    @property
    def subject(self) -> str:
        """As it appears in a token's ``sub`` claim."""
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    def ref(self, **extra: object) -> dict:
        """ESO's ``serviceAccountRef``; a ClusterSecretStore must name the namespace,
        or ESO looks for the account in each ExternalSecret's namespace."""
        return {"name": self.name, "namespace": self.namespace, **extra}

"""An External Secrets Operator the platform already runs, bound to this stack's cloud identity.

Owns: at most one server-side-apply patch of the installed controller's
service account, adding the annotations the backend's identity needs (IRSA's
``eks.amazonaws.com/role-arn``, GKE's ``iam.gke.io/gcp-service-account``) and
nothing else: every other field stays with its manager (the EKS add-on, Argo
CD, Helm). Never forced: a field another manager holds with a different value
fails the ``up`` instead of being taken over. Deleting the stack removes only
these annotations.
Does not own: ESO itself, its CRDs, namespace, service account, NetworkPolicy
or scraping (the platform's), nor any store or ExternalSecret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.facts import COMPONENT_FREE, K8S_IDENTITY, Facts
from components.service_account import ServiceAccount

FACTS = {
    "kubernetes:core/v1:ServiceAccountPatch": Facts(K8S_IDENTITY, free="annotations on a service account that already exists: no object of its own, no price"),
    "aragora:eso:ExistingExternalSecretsOperator": Facts((), free=COMPONENT_FREE),
}


@dataclass(frozen=True)
class ExistingExternalSecretsOperatorArgs:
    service_account: ServiceAccount
    """The installed controller's service account (its namespace is ESO's)."""
    annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """What the service account must carry for the backend's identity; empty: nothing is patched."""


class ExistingExternalSecretsOperator(pulumi.ComponentResource):
    """The identity binding of an ESO installed by someone else."""

    namespace: pulumi.Output[str]
    service_account: pulumi.Output[str]

    def __init__(self, name: str, args: ExistingExternalSecretsOperatorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:eso:ExistingExternalSecretsOperator", name, None, opts)
        self.patches: list[pulumi.Resource] = []
        if args.annotations:
            self.patches.append(
                k8s.core.v1.ServiceAccountPatch(
                    f"{name}-identity",
                    metadata={
                        "name": args.service_account.name,
                        "namespace": args.service_account.namespace,
                        "annotations": dict(args.annotations),
                    },
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.namespace = pulumi.Output.from_input(args.service_account.namespace)
        self.service_account = pulumi.Output.from_input(args.service_account.name)
        self.register_outputs({"namespace": self.namespace, "service_account": self.service_account})

"""The GCP identity ESO uses to read one environment's secrets.

Owns: ``roles/secretmanager.secretAccessor`` granted per secret (never on the
project, which would expose every secret in it) to either a Google service
account ESO impersonates through Workload Identity (GSA mode, with the
``roles/iam.workloadIdentityUser`` binding for exactly ESO's Kubernetes service
account), or directly to ESO's Kubernetes service account as a federated
principal (direct mode, no GSA).
Does not own: the secrets (``secret_manager``), the store's provider block
(``declare.store_provider``), the GKE cluster or its
Workload Identity pool, nor the service-account annotation (the caller passes
``service_account_annotations`` to the operator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.backends.gcp.settings import GcpIdentity, GcpSettings
from infra.components.eso import ServiceAccount

ACCESSOR = "roles/secretmanager.secretAccessor"


def wi_gsa_member(pool_project: str, account: ServiceAccount) -> str:
    return f"serviceAccount:{pool_project}.svc.id.goog[{account.namespace}/{account.name}]"


def wi_principal(pool_project_number: str, pool_project: str, account: ServiceAccount) -> str:
    return (
        f"principal://iam.googleapis.com/projects/{pool_project_number}/locations/global/"
        f"workloadIdentityPools/{pool_project}.svc.id.goog/subject/ns/{account.namespace}/sa/{account.name}"
    )


@dataclass(frozen=True)
class GcpEsoIdentityArgs:
    environment: str
    settings: GcpSettings
    """Project, Workload Identity mode, pool project and its number."""
    secret_ids: Mapping[str, pulumi.Input[str]]
    eso: ServiceAccount


class GcpEsoIdentity(pulumi.ComponentResource):
    """Per-secret read access for ESO in one environment."""

    gsa_email: pulumi.Output[str] | None
    member: pulumi.Output[str]
    service_account_annotations: dict[str, pulumi.Output[str]]
    grants: list[pulumi.Resource]
    """What must exist before ESO can read: a store created earlier fails validation."""

    def __init__(self, name: str, args: GcpEsoIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:gcp:GcpEsoIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = args.settings

        self.grants = []
        if cfg.identity is GcpIdentity.DIRECT:
            assert cfg.project_number, "direct Workload Identity needs the pool project's number"
            member: pulumi.Input[str] = wi_principal(
                cfg.project_number, cfg.pool_project, args.eso
            )
            self.gsa_email = None
            self.service_account_annotations = {}
        else:
            gsa = gcp.serviceaccount.Account(
                f"{name}-gsa",
                project=cfg.project,
                account_id=f"eso-{args.environment}",
                display_name=f"External Secrets Operator ({args.environment})",
                description=f"Reads Aragora {args.environment} secrets, one binding per secret",
                opts=child,
            )
            workload_identity_user = gcp.serviceaccount.IAMMember(
                f"{name}-workload-identity",
                service_account_id=gsa.name,
                role="roles/iam.workloadIdentityUser",
                member=wi_gsa_member(cfg.pool_project, args.eso),
                opts=child,
            )
            self.grants.append(workload_identity_user)
            member = gsa.email.apply(lambda email: f"serviceAccount:{email}")
            self.gsa_email = gsa.email
            self.service_account_annotations = {"iam.gke.io/gcp-service-account": gsa.email}

        for key, secret_id in args.secret_ids.items():
            accessor = gcp.secretmanager.SecretIamMember(
                f"{name}-{key}-accessor",
                project=cfg.project,
                secret_id=secret_id,
                role=ACCESSOR,
                member=member,
                opts=child,
            )
            self.grants.append(accessor)

        self.member = pulumi.Output.from_input(member)
        self.register_outputs({"member": self.member, "gsa_email": self.gsa_email})

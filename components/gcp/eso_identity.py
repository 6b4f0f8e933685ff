"""The GCP identity ESO uses to read one environment's secrets.

Owns: ``roles/secretmanager.secretAccessor`` granted per secret (never on the
project, which would expose every secret in it) to either a Google service
account ESO impersonates through Workload Identity (GSA mode, with the
``roles/iam.workloadIdentityUser`` binding for exactly ESO's Kubernetes service
account), or directly to ESO's Kubernetes service account as a federated
principal (direct mode, no GSA).
Does not own: the secrets (``secret_manager``), the store's provider block
(the program's backend declaration), the GKE cluster or its
Workload Identity pool, nor the service-account annotation (the caller passes
``service_account_annotations`` to the operator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.service_account import ServiceAccount

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
    project: str
    """The project of the secrets."""
    pool_project: str
    """The project whose ``<project>.svc.id.goog`` Workload Identity pool the cluster uses."""
    secret_ids: Mapping[str, pulumi.Input[str]]
    """Stable key (names the binding) -> full secret id."""
    eso: ServiceAccount
    gsa_account_id: str | None = None
    """GSA mode: the Google service account ESO impersonates (e.g. ``eso-staging``)."""
    gsa_display_name: str = ""
    gsa_description: str = ""
    pool_project_number: str | None = None
    """Direct mode (no GSA): the pool project's number, which the federated principal names."""
    more_eso: Mapping[str, ServiceAccount] = field(default_factory=dict)
    """The environment's other clusters (short name -> ESO's service account there) whose account
    differs from ``eso``: each gets Workload Identity too. Clusters in one project share its pool, so
    one service account name in several clusters is one principal (no binding to add)."""

    def __post_init__(self) -> None:
        if (self.gsa_account_id is None) == (self.pool_project_number is None):
            raise ValueError("GcpEsoIdentityArgs: exactly one of gsa_account_id (GSA mode) and pool_project_number (direct mode)")


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

        self.grants = []
        if args.pool_project_number is not None:
            member: pulumi.Input[str] = wi_principal(args.pool_project_number, args.pool_project, args.eso)
            self.gsa_email = None
            self.service_account_annotations = {}
        else:
            gsa = gcp.serviceaccount.Account(
                f"{name}-gsa",
                project=args.project,
                account_id=args.gsa_account_id,
                display_name=args.gsa_display_name,
                description=args.gsa_description,
                opts=child,
            )
            workload_identity_user = gcp.serviceaccount.IAMMember(
                f"{name}-workload-identity",
                service_account_id=gsa.name,
                role="roles/iam.workloadIdentityUser",
                member=wi_gsa_member(args.pool_project, args.eso),
                opts=child,
            )
            self.grants.append(workload_identity_user)
            for cluster, account in args.more_eso.items():
                self.grants.append(
                    gcp.serviceaccount.IAMMember(
                        f"{name}-workload-identity-{cluster}",
                        service_account_id=gsa.name,
                        role="roles/iam.workloadIdentityUser",
                        member=wi_gsa_member(args.pool_project, account),
                        opts=child,
                    )
                )
            member = gsa.email.apply(lambda email: f"serviceAccount:{email}")
            self.gsa_email = gsa.email
            self.service_account_annotations = {"iam.gke.io/gcp-service-account": gsa.email}

        for key, secret_id in args.secret_ids.items():
            accessor = gcp.secretmanager.SecretIamMember(
                f"{name}-{key}-accessor",
                project=args.project,
                secret_id=secret_id,
                role=ACCESSOR,
                member=member,
                opts=child,
            )
            self.grants.append(accessor)
            if args.pool_project_number is not None:
                for cluster, account in args.more_eso.items():
                    self.grants.append(
                        gcp.secretmanager.SecretIamMember(
                            f"{name}-{key}-accessor-{cluster}",
                            project=args.project,
                            secret_id=secret_id,
                            role=ACCESSOR,
                            member=wi_principal(args.pool_project_number, args.pool_project, account),
                            opts=child,
                        )
                    )

        self.member = pulumi.Output.from_input(member)
        self.register_outputs({"member": self.member, "gsa_email": self.gsa_email})

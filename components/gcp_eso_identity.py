"""The GCP identity ESO uses to read one environment's secrets.

Owns: ``roles/secretmanager.secretAccessor`` granted per secret (never on the
project, which would expose every secret in it) to either a Google service
account ESO impersonates through Workload Identity (GSA mode, with the
``roles/iam.workloadIdentityUser`` binding for exactly ESO's Kubernetes service
account), or directly to ESO's Kubernetes service account as a federated
principal (direct mode, no GSA).
Does not own: the secrets (``gcp_secret_manager``), the GKE cluster or its
Workload Identity pool, nor the service-account annotation (the caller passes
``service_account_annotations`` to the operator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

ACCESSOR = "roles/secretmanager.secretAccessor"


def wi_gsa_member(pool_project: str, namespace: str, service_account: str) -> str:
    return f"serviceAccount:{pool_project}.svc.id.goog[{namespace}/{service_account}]"


def wi_principal(pool_project_number: str, pool_project: str, namespace: str, service_account: str) -> str:
    return (
        f"principal://iam.googleapis.com/projects/{pool_project_number}/locations/global/"
        f"workloadIdentityPools/{pool_project}.svc.id.goog/subject/ns/{namespace}/sa/{service_account}"
    )


@dataclass(frozen=True)
class GcpEsoIdentityArgs:
    environment: str
    project: str
    secret_ids: Mapping[str, pulumi.Input[str]]
    namespace: str
    service_account: str
    pool_project: str
    """Project whose ``<project>.svc.id.goog`` pool the cluster uses."""
    direct: bool = False
    pool_project_number: str = ""
    """Required for direct mode."""
    store_auth: Mapping[str, str] = field(default_factory=dict)
    """``clusterLocation``/``clusterName``/``clusterProjectID`` for the store, when known."""


class GcpEsoIdentity(pulumi.ComponentResource):
    """Per-secret read access for ESO, and how the store uses it."""

    gsa_email: pulumi.Output[str] | None
    member: pulumi.Output[str]
    service_account_annotations: dict[str, pulumi.Output[str]]
    store_provider: pulumi.Output[dict]
    grants: list[pulumi.Resource]
    """What must exist before ESO can read: a store created earlier fails validation."""

    def __init__(self, name: str, args: GcpEsoIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aragora:gcp:GcpEsoIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.grants = []
        if args.direct:
            member: pulumi.Input[str] = wi_principal(
                args.pool_project_number, args.pool_project, args.namespace, args.service_account
            )
            self.gsa_email = None
            self.service_account_annotations = {}
        else:
            gsa = gcp.serviceaccount.Account(
                f"{name}-gsa",
                project=args.project,
                account_id=f"eso-{args.environment}",
                display_name=f"External Secrets Operator ({args.environment})",
                description=f"Reads Aragora {args.environment} secrets, one binding per secret",
                opts=child,
            )
            workload_identity_user = gcp.serviceaccount.IAMMember(
                f"{name}-workload-identity",
                service_account_id=gsa.name,
                role="roles/iam.workloadIdentityUser",
                member=wi_gsa_member(args.pool_project, args.namespace, args.service_account),
                opts=child,
            )
            self.grants.append(workload_identity_user)
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

        workload_identity = {
            **dict(args.store_auth),
            # A ClusterSecretStore must name the namespace of the service account.
            "serviceAccountRef": {"name": args.service_account, "namespace": args.namespace},
        }
        self.store_provider = pulumi.Output.from_input(
            {"gcpsm": {"projectID": args.project, "auth": {"workloadIdentity": workload_identity}}}
        )
        self.member = pulumi.Output.from_input(member)
        self.register_outputs({"member": self.member, "gsa_email": self.gsa_email})

"""Which input changes make the provider replace a resource (delete and create), per type.

Curated from each provider's schema and documentation ("Changing this forces
a new resource" in the Terraform-bridged providers' docs, immutable fields in
Kubernetes), for every resource type this project declares; a test fails
when the stack declares a type missing here. Paths are the camelCase input
paths of ``resources.json``; a change at or below a path forces replacement.

Provider resources are listed too: re-targeting a provider (another cluster,
region, project or server) re-targets every resource it manages.
"""

from __future__ import annotations

_K8S_IDENTITY = ("apiVersion", "kind", "metadata.name", "metadata.namespace")

REPLACE_ON: dict[str, tuple[str, ...]] = {
    # AWS (terraform-provider-aws ForceNew attributes)
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"),
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("secretArn",),
    "aws:iam/policy:Policy": ("name", "namePrefix", "path", "description"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": ("clusterName", "namespace", "serviceAccount"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpcId", "serviceName", "vpcEndpointType"),
    "aws:secretsmanager/secretRotation:SecretRotation": ("secretId",),
    "aws:cfg/rule:Rule": ("name",),
    # Vault (terraform-provider-vault; a mount's path is remounted in place)
    "vault:index/mount:Mount": ("type", "local", "sealWrap", "externalEntropyAccess"),
    "vault:index/policy:Policy": ("name",),
    "vault:kv/secretBackendV2:SecretBackendV2": ("mount",),
    "vault:index/authBackend:AuthBackend": ("type", "path", "local"),
    "vault:kubernetes/authBackendConfig:AuthBackendConfig": ("backend",),
    "vault:kubernetes/authBackendRole:AuthBackendRole": ("backend", "roleName"),
    "vault:index/audit:Audit": ("type", "path", "local", "options", "description"),  # no update at all
    # GCP (terraform-provider-google ForceNew attributes)
    "gcp:secretmanager/secret:Secret": ("secretId", "project", "replication"),
    "gcp:secretmanager/secretIamMember:SecretIamMember": ("secretId", "role", "member", "project", "condition"),
    "gcp:serviceaccount/account:Account": ("accountId", "project"),
    "gcp:serviceaccount/iAMMember:IAMMember": ("serviceAccountId", "role", "member", "condition"),
    "gcp:projects/iAMAuditConfig:IAMAuditConfig": ("project", "service"),
    "gcp:pubsub/topic:Topic": ("name", "project"),
    "gcp:pubsub/topicIAMMember:TopicIAMMember": ("topic", "role", "member", "project", "condition"),
    # Kubernetes: identity fields are immutable; a ClusterRoleBinding's roleRef too
    "kubernetes:core/v1:Namespace": _K8S_IDENTITY,
    "kubernetes:external-secrets.io/v1:ClusterSecretStore": _K8S_IDENTITY,
    "kubernetes:external-secrets.io/v1:ExternalSecret": _K8S_IDENTITY,
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": _K8S_IDENTITY,
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": (*_K8S_IDENTITY, "roleRef"),
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
    # Providers: another target means every resource of the provider moves
    "pulumi:providers:kubernetes": ("context", "kubeconfig", "cluster"),
    "pulumi:providers:aws": ("region",),
    "pulumi:providers:gcp": ("project",),
    "pulumi:providers:vault": ("address", "namespace"),
}


def forces_replacement(type_: str, path: str) -> bool:
    """True when changing input ``path`` of a ``type_`` resource replaces it."""
    return any(path == p or path.startswith(f"{p}.") or path.startswith(f"{p}[") for p in REPLACE_ON.get(type_, ()))

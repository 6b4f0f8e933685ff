"""The External Secrets Operator API this project speaks: one place for its group, version and kinds.

The components that declare ESO objects build them from these names, and
anything else that must recognise them (the plan diff, the cost estimate, the
preflight check of the CRDs, the policy pack, the tests) reads them here
instead of copying a type string. Standard library only, so the policy pack's
virtualenv can load it by path.
"""

from __future__ import annotations

GROUP = "external-secrets.io"
"""The API group of every ESO custom resource (its CRDs are ``<plural>.external-secrets.io``)."""
VERSION = "v1"
"""The only version this project writes and the pinned chart (2.x) serves."""
API_VERSION = f"{GROUP}/{VERSION}"

CLUSTER_SECRET_STORE = "ClusterSecretStore"
EXTERNAL_SECRET = "ExternalSecret"


def pulumi_type(kind: str) -> str:
    """The Pulumi type token of a ``kind`` declared as a Kubernetes custom resource."""
    return f"kubernetes:{API_VERSION}:{kind}"


CLUSTER_SECRET_STORE_TYPE = pulumi_type(CLUSTER_SECRET_STORE)
EXTERNAL_SECRET_TYPE = pulumi_type(EXTERNAL_SECRET)

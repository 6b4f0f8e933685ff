"""Composes the components into one environment's stack.

``build(cfg)`` is the whole program once config is parsed: the Kubernetes
provider pinned to this environment's context, the backend (``infra/backends``),
ESO, the store and the ExternalSecrets. ``infra/__main__.py`` only loads config
and calls it.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.cluster_secret_store import ClusterSecretStore, ClusterSecretStoreArgs
from components.eso import ExternalSecretsOperator, ExternalSecretsOperatorArgs
from components.external_secrets import AppExternalSecrets, AppExternalSecretsArgs, ExternalSecretSpec, SecretValueRef
from infra import backends, catalog
from infra.config import StackConfig

JWT_ROTATION_ANNOTATION = "aragora.io/jwt-rotation"


def external_secret_specs(cfg: StackConfig, layout: catalog.Layout) -> list[ExternalSecretSpec]:
    """One ExternalSecret per sync class, its values straight from the catalog."""
    specs = []
    for sync, entries in catalog.by_sync_class().items():
        refs = [SecretValueRef(e.env_var, *catalog.remote_ref(e, cfg.environment, layout)) for e in entries]
        specs.append(
            ExternalSecretSpec(
                name=catalog.target_secret_name(sync),
                values=refs,
                # Session keys sync only when the ExternalSecret changes, i.e. when
                # an operator bumps `jwtRotation`; never on a timer.
                refresh_policy="OnChange" if sync is catalog.SyncClass.SESSION else "Periodic",
                await_ready=sync is not catalog.SyncClass.OPTIONAL,
                annotations={JWT_ROTATION_ANNOTATION: cfg.jwt_rotation} if sync is catalog.SyncClass.SESSION else {},
            )
        )
    return specs


def build(cfg: StackConfig) -> None:
    catalog.validate_catalog()
    # An explicit context, never whatever is current on the operator's machine:
    # the staging stack cannot apply into the production cluster by accident.
    k8s_provider = k8s.Provider(
        "k8s",
        context=cfg.kube_context,
        kubeconfig=cfg.kubeconfig or None,
    )
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": k8s_provider})

    backend = backends.load(cfg.backend)(cfg, k8s_provider)

    eso = ExternalSecretsOperator(
        "eso",
        ExternalSecretsOperatorArgs(
            chart_version=cfg.eso.chart_version,
            replicas=cfg.eso.replicas,
            service_account_annotations=backend.service_account_annotations,
        ),
        opts=k8s_opts,
    )

    pulumi.export("environment", cfg.environment)
    pulumi.export("backend", cfg.backend.value)
    pulumi.export("esoNamespace", eso.namespace)
    backend.export()
    if cfg.bootstrap:
        # First `up` on an empty cluster: the CRDs arrive with the release, so the
        # custom resources come in the next `up` (see README, "First deploy").
        pulumi.log.info("bootstrap: ClusterSecretStore and ExternalSecrets are not declared in this run")
        return

    store = ClusterSecretStore(
        "store",
        ClusterSecretStoreArgs(
            store_name=backend.store_name,
            provider=backend.store_provider,
            # CRDs and webhook first, then every grant, or the store fails validation.
            depends_on=[eso.release, *backend.grants],
        ),
        opts=k8s_opts,
    )
    app = AppExternalSecrets(
        "app-secrets",
        AppExternalSecretsArgs(
            namespace=catalog.APP_NAMESPACE,
            store_name=store.store_name,
            refresh_interval=cfg.refresh_interval,
            secrets=external_secret_specs(cfg, backend.layout),
            depends_on=[eso.release],
        ),
        opts=k8s_opts,
    )
    pulumi.export("storeName", store.store_name)
    pulumi.export("appNamespace", app.namespace)
    # ExternalSecret and target Secret share a name; `make verify` reads these.
    pulumi.export("secretNames", app.secret_names)

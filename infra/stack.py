"""Composes the components into one environment's stack.

``build(cfg, secrets)`` is the whole program once config is parsed: the
Kubernetes provider pinned to this environment's context, the selected
backend's declaration (``infra.backends``), ESO, the store and one
ExternalSecret per sync class of the catalog, for each cluster of the
environment (``infra.clusters``: the home cluster under the single-cluster
names, every other under names suffixed with its own). Every name, label and prefix
comes from the catalog's ``App``; the components in ``components/`` receive
them as arguments. ``infra/__main__.py`` only loads config and calls it;
tests and the benchmark pass their own catalog.
"""

from __future__ import annotations

import os

import pulumi
import pulumi_kubernetes as k8s

from components import reloader
from components.cluster_secret_store import ClusterSecretStore, ClusterSecretStoreArgs
from components.eso import (
    CONTROLLER_JOB,
    VALIDATING_WEBHOOKS,
    WEBHOOK_JOB,
    ExternalSecretsOperator,
    ExternalSecretsOperatorArgs,
)
from components.existing_eso import ExistingExternalSecretsOperator, ExistingExternalSecretsOperatorArgs
from components.external_secrets import (
    AppExternalSecrets,
    AppExternalSecretsArgs,
    ExternalSecretSpec,
    RefreshPolicy,
    SecretValueRef,
)
from components.sync_alerts import SyncAlerts, SyncAlertsArgs
from infra import catalog
from infra.backends import backend_of
from infra.backends.base import Declared
from infra.clusters import Cluster
from infra.config import CommonSettings, EsoInstall, ReloaderMode, StackConfig, check_against_catalog
from infra.durations import go_duration_seconds, prometheus_duration


def external_secret_specs(cfg: StackConfig, secrets: catalog.Catalog, declared: Declared) -> list[ExternalSecretSpec]:
    """One ExternalSecret per sync class, its behaviour and values straight from the catalog."""
    specs = []
    for sync, entries in secrets.by_sync_class.items():
        refs = []
        for e in entries:
            remote = declared.remote_ref(e)
            refs.append(SecretValueRef(e.env_var, remote.key, remote.property))
        specs.append(
            ExternalSecretSpec(
                name=secrets.target_secret(sync),
                values=refs,
                refresh_policy=sync.refresh_policy,
                await_ready=sync.await_ready and cfg.common.await_sync,
                annotations={secrets.app.jwt_rotation_annotation: cfg.common.jwt_rotation} if sync.rotation_marker else {},
                secret_annotations=reloader.MATCH_ANNOTATION if cfg.common.reloader is not ReloaderMode.OFF else {},
            )
        )
    return specs


def eso_args(common: CommonSettings, declared: Declared | None = None) -> ExternalSecretsOperatorArgs:
    """The operator's arguments from the common settings (and the backend's identity and ports, once declared)."""
    return ExternalSecretsOperatorArgs(
        chart_version=common.eso_chart_version,
        replicas=common.eso_replicas,
        monitoring_namespace=common.eso_monitoring_namespace,
        service_monitor=common.prometheus_operator,
        grafana_dashboard=common.grafana_dashboard,
        values=common.eso_values,
        **(
            {"service_account_annotations": declared.service_account_annotations, "backend_ports": declared.egress_ports}
            if declared
            else {}
        ),
    )


def kubernetes_provider(name: str, common: CommonSettings) -> k8s.Provider:
    """The provider of one cluster, pinned to its context."""
    # An explicit context, never whatever is current on the operator's machine:
    # one environment's stack cannot apply into another's cluster by accident.
    # Every setting that weakens safety is pinned here: the SDK would otherwise
    # take it from the environment (PULUMI_K8S_DELETE_UNREACHABLE, ...).
    kubeconfig = common.kubeconfig or os.environ.get("KUBECONFIG")
    return k8s.Provider(
        name,
        context=common.kube_context,
        # A path, as a secret: whatever it is (or the environment's KUBECONFIG
        # holds) never lands in the plan or in state in clear.
        kubeconfig=pulumi.Output.secret(kubeconfig) if kubeconfig else None,
        delete_unreachable=False,
        skip_update_unreachable=False,
        upsert_existing_objects=False,
        enable_patch_force=False,
        enable_secret_mutable=False,
        enable_config_map_mutable=False,
    )


def build(cfg: StackConfig, secrets: catalog.Catalog = catalog.CATALOG) -> None:
    # Every cluster of the environment (infra.clusters), home first: the home cluster's resources
    # keep the single-cluster names, every other's are suffixed with its name.
    clusters = cfg.clusters or (Cluster(name="", home=True, common=cfg.common, backend=cfg.backend),)
    home = clusters[0]
    # Whatever can be refused is refused before the first resource (a provider) is declared.
    check_against_catalog(cfg, secrets)
    for cluster in clusters:
        if cluster.common.eso_install is EsoInstall.MANAGED:
            eso_args(cluster.common)  # the chart values, judged over the chart's defaults
    providers = {c.name: kubernetes_provider(c.resource_name("k8s"), c.common) for c in clusters}
    declared = backend_of(cfg.backend).declare(
        cfg.environment, cfg.backend, secrets, providers[home.name], home.common.eso_account, clusters, providers
    )
    pulumi.export("environment", cfg.environment)
    pulumi.export("backend", cfg.backend.name)
    summaries = {}
    for cluster in clusters:
        mine = declared if cluster.home else declared.clusters[cluster.name]
        summaries[cluster.name or "home"] = build_cluster(cfg, cluster, secrets, mine, providers[cluster.name], declared.outputs)
    if len(clusters) > 1:
        # Where each cluster's store reads, for operations (`make verify` per cluster) and the runbook.
        pulumi.export("clusters", summaries)


def build_cluster(
    cfg: StackConfig,
    cluster: Cluster,
    secrets: catalog.Catalog,
    declared: Declared,
    k8s_provider: k8s.Provider,
    backend_outputs: dict,
) -> dict:
    """ESO, the store and the ExternalSecrets (and alerts, Reloader) of one cluster; the home cluster exports as a single-cluster stack does."""
    common, app, named = cluster.common, secrets.app, cluster.resource_name
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": k8s_provider})

    if common.eso_install is EsoInstall.MANAGED:
        eso = ExternalSecretsOperator(named("eso"), eso_args(common, declared), opts=k8s_opts)
        # CRDs and webhook first: the store and ExternalSecrets fail validation without them.
        eso_ready: list[pulumi.Resource] = [eso.release]
    else:
        eso = ExistingExternalSecretsOperator(
            named("eso-existing"),
            ExistingExternalSecretsOperatorArgs(
                service_account=common.eso_account, annotations=declared.service_account_annotations
            ),
            opts=k8s_opts,
        )
        # The identity on the service account first, or the store's first check is refused.
        eso_ready = list(eso.patches)

    if cluster.home:
        pulumi.export("esoNamespace", eso.namespace)
        for key, value in backend_outputs.items():
            pulumi.export(key, value)
    store = ClusterSecretStore(
        named("store"),
        ClusterSecretStoreArgs(
            store_name=declared.store_name,
            provider=declared.store_provider,
            namespaces=[app.namespace],
            await_ready=cfg.common.await_sync,
            labels=app.labels,
        ),
        # ESO ready, then every grant, or the store fails validation.
        opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[*eso_ready, *declared.grants])),
    )
    specs = external_secret_specs(cfg, secrets, declared)
    external = AppExternalSecrets(
        named("app-secrets"),
        AppExternalSecretsArgs(
            namespace=app.namespace,
            store_name=store.store_name,
            refresh_interval=cfg.common.refresh_interval,
            secrets=specs,
            labels=app.labels,
        ),
        opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=eso_ready)),
    )
    if common.prometheus_operator:
        SyncAlerts(
            named("alerts"),
            SyncAlertsArgs(
                rule_name=f"{app.target_secret}-sync",
                alert_prefix=app.title,
                namespace=common.eso_account.namespace,
                app_namespace=app.namespace,
                required_secrets=[secrets.target_secret(s) for s in secrets.by_sync_class if s.must_sync],
                optional_secrets=[secrets.target_secret(s) for s in secrets.by_sync_class if not s.must_sync],
                store_name=declared.store_name,
                periodic_secrets=[s.name for s in specs if s.refresh_policy is RefreshPolicy.PERIODIC],
                stall_window=prometheus_duration(2 * go_duration_seconds(common.refresh_interval)),
                runbook_url=common.alert_runbook_url,
                # The chart's names (a managed release, or an external one installed with the chart's defaults).
                eso_namespace=common.eso_account.namespace,
                controller_job=CONTROLLER_JOB,
                webhook_job=WEBHOOK_JOB,
                webhooks=VALIDATING_WEBHOOKS,
                labels=dict(label.split("=", 1) for label in common.alert_labels),
                rule_labels=app.labels,
            ),
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=eso_ready)),
        )
    if common.reloader is ReloaderMode.INSTALL:
        reloader.Reloader(named("reloader"), reloader.ReloaderArgs(namespace=external.namespace), opts=k8s_opts)
    # Where this cluster's store reads, for the stack output ``clusters`` (several clusters only).
    summary = {"kubeContext": common.kube_context, "esoNamespace": eso.namespace, "storeProvider": declared.store_provider}
    if not cluster.home:
        return summary
    # What the app's Deployment carries so Reloader rolls it when a synced Secret changes.
    pulumi.export("appDeploymentAnnotations", reloader.SEARCH_ANNOTATION if common.reloader is not ReloaderMode.OFF else {})
    pulumi.export("storeName", store.store_name)
    pulumi.export("appNamespace", external.namespace)
    # ExternalSecret and target Secret share a name; `make verify` reads these.
    pulumi.export("secretNames", external.secret_names)
    # Which sync class each one is, so operations never guess from a name.
    pulumi.export("syncClasses", {s.name: sync.name for s, sync in zip(specs, secrets.by_sync_class, strict=True)})
    return summary

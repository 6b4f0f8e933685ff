"""The GCP readers: each value's enabled versions (metadata, never a value).

google-cloud-secret-manager is imported when a reader is built, never by the plan.
"""

from __future__ import annotations

from infra.backends.gcp.settings import GcpSettings
from infra.catalog import Catalog


def _enabled_versions(environment: str, settings: GcpSettings, secrets: Catalog):
    try:
        from google.cloud import secretmanager
    except ImportError:
        raise ModuleNotFoundError("the GCP readers need google-cloud-secret-manager: pip install google-cloud-secret-manager") from None
    client = secretmanager.SecretManagerServiceClient()

    def versions(entry):
        parent = f"projects/{settings.project}/secrets/{secrets.app.per_value_id(environment, entry)}"
        return parent, [v.create_time for v in client.list_secret_versions(request={"parent": parent}) if v.state.name == "ENABLED"]

    return versions


def value_age(environment: str, settings: GcpSettings, secrets: Catalog):
    versions = _enabled_versions(environment, settings, secrets)

    def changed(entry):
        parent, enabled = versions(entry)
        return parent, max(enabled) if enabled else None

    return changed


def value_presence(environment: str, settings: GcpSettings, secrets: Catalog):
    versions = _enabled_versions(environment, settings, secrets)

    def present(entry):
        parent, enabled = versions(entry)
        return parent, bool(enabled)

    return present


def credentials(settings: GcpSettings) -> str:
    return f"Google credentials for project {settings.project}: GOOGLE_APPLICATION_CREDENTIALS, or `gcloud auth application-default login`"

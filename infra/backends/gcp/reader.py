"""The GCP reader: each catalog value as Secret Manager holds it (``infra.backends.reading``).

One secret per catalog value; ESO reads its ``latest`` version. So a value is
PRESENT only when ``latest`` can be accessed and its payload is not empty. Its
age is the creation time of the oldest consecutive enabled version holding the
same payload. Every call has a timeout within the tool's deadline and retries
throttling and 5xx with backoff; errors name the real cause (credentials,
permission, network, the service).
"""

from __future__ import annotations

from typing import Any

from infra.backends.gcp.settings import GcpSettings
from infra.backends.reading import (
    BACKOFF_SECONDS,
    CALL_TIMEOUT_SECONDS,
    BackendUnreadable,
    Deadline,
    Reading,
    ValueState,
    one_line,
    utc,
)
from infra.catalog import Catalog

HISTORY = 10
"""Older versions compared at most when dating a value."""


def _why(settings: GcpSettings, err: Exception, doing: str) -> BackendUnreadable:
    from google.api_core import exceptions as gx
    from google.auth import exceptions as ax

    where = f"{doing} in project {settings.project}"
    if isinstance(err, ax.DefaultCredentialsError | ax.RefreshError):
        return BackendUnreadable(
            f"no usable Google credentials {where}: {one_line(err)} (expected GOOGLE_APPLICATION_CREDENTIALS or `gcloud auth application-default login`)"
        )
    if isinstance(err, gx.PermissionDenied | gx.Unauthenticated):
        return BackendUnreadable(f"Google refused the credentials {where}: {one_line(err)} (expected secretmanager.versions.access on the stack's secrets)")
    if isinstance(err, gx.TooManyRequests | gx.ResourceExhausted):
        return BackendUnreadable(f"throttled {where}: {one_line(err)}")
    if isinstance(err, gx.DeadlineExceeded | gx.RetryError):
        return BackendUnreadable(f"no answer {where}: {one_line(err)}")
    if isinstance(err, gx.ServerError):
        return BackendUnreadable(f"server error {where}: {one_line(err)}")
    return BackendUnreadable(f"cannot read {where}: {type(err).__name__}: {one_line(err)}")


def reader(environment: str, settings: GcpSettings, secrets: Catalog, *, deadline: Deadline) -> list[Reading]:
    try:
        from google.api_core import exceptions as gx
        from google.api_core.retry import Retry, if_exception_type
        from google.cloud import secretmanager
    except ImportError:
        raise BackendUnreadable("the GCP reader needs google-cloud-secret-manager: pip install google-cloud-secret-manager") from None

    retry = Retry(
        predicate=if_exception_type(gx.TooManyRequests, gx.ResourceExhausted, gx.InternalServerError, gx.ServiceUnavailable, gx.BadGateway),
        initial=BACKOFF_SECONDS, multiplier=2.0, maximum=2.0, timeout=deadline.bound(CALL_TIMEOUT_SECONDS),
    )

    def call(doing: str, method, **request) -> Any:
        """``method(request)``; None when the resource is not there or not enabled."""
        timeout = deadline.bound(CALL_TIMEOUT_SECONDS, f"{doing} in project {settings.project}")
        try:
            return method(request=request, timeout=timeout, retry=retry)
        except (gx.NotFound, gx.FailedPrecondition):
            return None
        except Exception as err:
            raise _why(settings, err, doing) from None

    try:
        client = secretmanager.SecretManagerServiceClient()
    except Exception as err:
        raise _why(settings, err, "creating the Secret Manager client") from None
    readings = []
    for entry in secrets:
        parent = f"projects/{settings.project}/secrets/{secrets.app.per_value_id(environment, entry)}"
        if call(f"GetSecret {parent}", client.get_secret, name=parent) is None:
            readings.append(Reading(entry, parent, ValueState.MISSING, reason="no such secret"))
            continue
        latest = call(f"AccessSecretVersion {parent}/versions/latest", client.access_secret_version, name=f"{parent}/versions/latest")
        if latest is None:
            readings.append(Reading(entry, parent, ValueState.MISSING, reason="no enabled version (latest is absent, disabled or destroyed)"))
            continue
        number = latest.name.rsplit("/", 1)[-1]
        if not latest.payload.data:
            readings.append(Reading(entry, parent, ValueState.EMPTY, reason=f"version {number} is empty"))
            continue
        versions = call(f"ListSecretVersions {parent}", client.list_secret_versions, parent=parent) or []
        ordered = sorted(versions, key=lambda v: utc(v.create_time), reverse=True)
        current = next((v for v in ordered if v.name == latest.name), None)
        created = utc(current.create_time) if current else None
        for older in [v for v in ordered if current and utc(v.create_time) < created][:HISTORY]:
            if older.state.name != "ENABLED":
                break
            answer = call(f"AccessSecretVersion {older.name}", client.access_secret_version, name=older.name)
            if answer is None or answer.payload.data != latest.payload.data:
                break
            created = utc(older.create_time)
        readings.append(Reading(entry, parent, ValueState.PRESENT, version=number, created=created))
    return readings

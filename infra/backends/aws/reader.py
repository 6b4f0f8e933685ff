"""The AWS reader: each catalog value as Secrets Manager holds it (``infra.backends.reading``).

One JSON secret per catalog group; ESO reads its ``AWSCURRENT`` version and
takes the catalog key's property from it. So a value is PRESENT only when the
secret exists, is not scheduled for deletion, has an ``AWSCURRENT`` version
whose ``SecretString`` is a JSON object with the key, non-empty. Its age is
the creation date of the oldest consecutive version that still holds the same
value (a group rewritten for another key does not make this one fresh).

Before anything is read, the caller's account (STS GetCallerIdentity) must be
the stack's ``awsAccountId``: another account's secrets of the same name would
otherwise answer. Timeouts and retries are botocore's, bounded by the tool's
deadline; ``AWS_ENDPOINT_URL`` points everything at a local endpoint (moto).
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

from infra.backends.aws.settings import AwsSettings
from infra.backends.reading import (
    CALL_TIMEOUT_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    RETRIES,
    BackendUnreadable,
    Deadline,
    History,
    Reading,
    ValueState,
    classify,
    one_line,
    since,
    utc,
)
from infra.catalog import Catalog

HISTORY = 10
"""Older versions compared at most when dating a value (Secrets Manager keeps about 100 deprecated ones)."""
_NOT_THERE = ("ResourceNotFoundException", "InvalidRequestException")
"""No secret, no AWSCURRENT version, or (InvalidRequest) a secret marked for deletion: no value."""
_CREDENTIALS = (
    "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch",
    "ExpiredToken", "ExpiredTokenException", "AccessDenied", "AccessDeniedException", "IncompleteSignature",
)


def _endpoint() -> str:
    return os.environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER") or os.environ.get("AWS_ENDPOINT_URL") or "the AWS endpoint"


def _why(settings: AwsSettings, err: Exception, doing: str) -> BackendUnreadable:
    """One line naming the real cause: no credentials, refused credentials, the network, TLS, throttling or a 5xx."""
    from botocore import exceptions as bx

    where = f"{doing} at {_endpoint()} ({settings.region})"  # e.g. "STS GetCallerIdentity at https://... (us-east-1)"
    if isinstance(err, bx.NoCredentialsError | bx.PartialCredentialsError | bx.NoRegionError):
        hint = "AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        return BackendUnreadable(f"no AWS credentials for account {settings.account_id}: {one_line(err)} (expected {hint}; AWS_ENDPOINT_URL for a local endpoint)")
    if isinstance(err, bx.SSLError):
        return BackendUnreadable(f"{where}: TLS failed: {one_line(err)} (AWS_CA_BUNDLE names a private CA)")
    if isinstance(err, bx.ConnectTimeoutError | bx.ReadTimeoutError):
        return BackendUnreadable(f"{where}: no answer in time: {one_line(err)}")
    if isinstance(err, bx.EndpointConnectionError | bx.ConnectionClosedError | bx.HTTPClientError):
        return BackendUnreadable(f"{where}: cannot connect: {one_line(err)} (network, proxy or AWS_ENDPOINT_URL)")
    if isinstance(err, bx.ClientError):
        code = err.response.get("Error", {}).get("Code", "")
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = one_line(err.response.get("Error", {}).get("Message", "")) or one_line(err)
        if code in _CREDENTIALS or status == 403:
            return BackendUnreadable(
                f"{where}: AWS refused the credentials: {code}: {message} (expected credentials of account {settings.account_id} allowed to read the stack's secrets)"
            )
        if status == 429 or code in ("ThrottlingException", "Throttling", "TooManyRequestsException"):
            return BackendUnreadable(f"{where}: throttled, {RETRIES} retries spent: {code}: {message}")
        if status and status >= 500:
            return BackendUnreadable(f"{where}: server error {status}, {RETRIES} retries spent: {code}: {message}")
        return BackendUnreadable(f"{where}: AWS answered {status}: {code}: {message}")
    if isinstance(err, bx.BotoCoreError):
        return BackendUnreadable(f"{where}: {type(err).__name__}: {one_line(err)}")
    return BackendUnreadable(f"{where}: {type(err).__name__}: {one_line(err)}")


@cache
def _data_loader():
    """botocore's loader of its model files (endpoints, service models): one per process, since
    each new session would otherwise parse the same JSON again (most of a client's creation)."""
    from botocore.loaders import create_loader

    return create_loader()


def _clients(settings: AwsSettings, deadline: Deadline):
    import boto3
    import botocore.session
    from botocore.config import Config

    config = Config(
        region_name=settings.region,
        connect_timeout=deadline.bound(CONNECT_TIMEOUT_SECONDS),
        read_timeout=deadline.bound(CALL_TIMEOUT_SECONDS),
        # Standard mode retries throttling (429) and 5xx with exponential backoff and jitter.
        retries={"mode": "standard", "total_max_attempts": RETRIES + 1},
    )
    # A new session each run: credentials and AWS_* variables are read as they are now.
    core = botocore.session.get_session()
    core.register_component("data_loader", _data_loader())
    session = boto3.session.Session(botocore_session=core, region_name=settings.region)
    return session.client("sts", config=config), session.client("secretsmanager", config=config)


def _call(settings: AwsSettings, deadline: Deadline, doing: str, call, **kwargs) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    deadline.bound(CALL_TIMEOUT_SECONDS, f"{doing} at {_endpoint()}")
    try:
        return call(**kwargs)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in _NOT_THERE:
            raise
        raise _why(settings, err, doing) from None
    except Exception as err:
        raise _why(settings, err, doing) from None


def _document(answer: dict[str, Any]) -> Any:
    """A version's parsed JSON, or a str saying why there is none."""
    if "SecretString" not in answer:
        return "binary (SecretBinary), not a JSON object"
    try:
        return json.loads(answer["SecretString"])
    except ValueError:
        return "not JSON"


def reader(environment: str, settings: AwsSettings, secrets: Catalog, *, deadline: Deadline) -> list[Reading]:
    from botocore.exceptions import ClientError

    sts, client = _clients(settings, deadline)
    account = _call(settings, deadline, "STS GetCallerIdentity", sts.get_caller_identity)["Account"]
    if account != settings.account_id:
        raise BackendUnreadable(
            f"the AWS credentials are of account {account}, not the stack's awsAccountId {settings.account_id}: use credentials of {settings.account_id}"
        )
    readings = []
    for group, entries in secrets.by_group.items():
        name = secrets.app.grouped_path(environment, group)

        def gone(reason: str, name=name, entries=entries):
            return [Reading(e, f"{name} / {e.key}", ValueState.MISSING, reason=reason) for e in entries]

        try:
            current = _call(settings, deadline, f"GetSecretValue {name}", client.get_secret_value, SecretId=name, VersionStage="AWSCURRENT")
        except ClientError:
            readings += gone(_why_no_value(settings, deadline, client, name))
            continue
        document = _document(current)
        version = current["VersionId"]
        if isinstance(document, str):
            readings += [Reading(e, f"{name} / {e.key}", ValueState.UNREADABLE, reason=f"AWSCURRENT is {document}") for e in entries]
            continue
        history = None
        for e in entries:
            reading = classify(e, f"{name} / {e.key}", document, version, utc(current["CreatedDate"]))
            if reading.ok:
                history = history or _history(settings, deadline, client, name, current)
                reading = Reading(e, reading.location, reading.state, version, since(e.key, document, utc(current["CreatedDate"]), history))
            readings.append(reading)
    return readings


def _why_no_value(settings: AwsSettings, deadline: Deadline, client, name: str) -> str:
    """Why GetSecretValue found no current value: no secret, one scheduled for deletion, or no value put."""
    from botocore.exceptions import ClientError

    try:
        described = _call(settings, deadline, f"DescribeSecret {name}", client.describe_secret, SecretId=name)
    except ClientError:
        return "no such secret"
    if described.get("DeletedDate"):
        return f"the secret is scheduled for deletion ({utc(described['DeletedDate']):%Y-%m-%d %H:%M} UTC)"
    return "the secret has no AWSCURRENT version (no value put)"


def _history(settings: AwsSettings, deadline: Deadline, client, name: str, current: dict) -> History:
    """Older versions, newest first (``HISTORY`` at most), each fetched only when a value's dating reaches it."""
    from botocore.exceptions import ClientError

    try:
        listed = _call(settings, deadline, f"ListSecretVersionIds {name}", client.list_secret_version_ids, SecretId=name, IncludeDeprecated=True)
    except ClientError:
        return History([])
    older = sorted(
        (v for v in listed.get("Versions", []) if v["VersionId"] != current["VersionId"] and utc(v["CreatedDate"]) <= utc(current["CreatedDate"])),
        key=lambda v: utc(v["CreatedDate"]),
        reverse=True,
    )[:HISTORY]

    def fetch(version_id: str):
        try:
            return _document(_call(settings, deadline, f"GetSecretValue {name} version {version_id}", client.get_secret_value, SecretId=name, VersionId=version_id))
        except ClientError:
            return None  # gone: the walk stops here

    return History([(utc(v["CreatedDate"]), lambda v=v: fetch(v["VersionId"])) for v in older])

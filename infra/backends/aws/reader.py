"""The AWS readers: when each grouped secret last changed and which properties it holds (metadata, never kept values).

boto3 is imported when a reader is built, never by the plan.
"""

from __future__ import annotations

import json

from infra.backends.aws.settings import AwsSettings
from infra.catalog import Catalog


def _client(settings: AwsSettings):
    import boto3

    return boto3.client("secretsmanager", region_name=settings.region)


def _current_version(client, name: str):
    """The AWSCURRENT version's id and creation date, or None when the secret has no value (or no secret)."""
    from botocore.exceptions import ClientError

    try:
        versions = client.list_secret_version_ids(SecretId=name)["Versions"]
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return None
    return next((v for v in versions if "AWSCURRENT" in v.get("VersionStages", [])), None)


def value_age(environment: str, settings: AwsSettings, secrets: Catalog):
    client = _client(settings)
    cache: dict = {}

    def changed(entry):
        name = secrets.app.grouped_path(environment, entry.group)
        if name not in cache:
            current = _current_version(client, name)
            cache[name] = current["CreatedDate"] if current else None
        return name, cache[name]

    return changed


def value_presence(environment: str, settings: AwsSettings, secrets: Catalog):
    from botocore.exceptions import ClientError

    client = _client(settings)
    cache: dict[str, dict | None] = {}

    def present(entry):
        name = secrets.app.grouped_path(environment, entry.group)
        if name not in cache:
            try:
                # The value is fetched only to see which properties the JSON has; it is never kept or printed.
                text = client.get_secret_value(SecretId=name, VersionStage="AWSCURRENT").get("SecretString") or "{}"
                document = json.loads(text)
                cache[name] = document if isinstance(document, dict) else {}
            except ClientError as err:
                if err.response["Error"]["Code"] not in ("ResourceNotFoundException", "InvalidRequestException"):
                    raise
                cache[name] = None
            except json.JSONDecodeError:
                cache[name] = {}
        document = cache[name]
        return f"{name} / {entry.key}", bool(document) and entry.key in document

    return present


def credentials(settings: AwsSettings) -> str:
    return (
        f"AWS credentials for account {settings.account_id} in {settings.region}: AWS_PROFILE, or "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS_ENDPOINT_URL for a local endpoint)"
    )

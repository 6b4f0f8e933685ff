"""What a backend's reader answers, per catalog value, and the deadline every read runs under.

Each backend package has a ``reader.py`` with
``reader(environment, settings, catalog, *, deadline) -> list[Reading]``: one
``Reading`` per catalog value (returned in catalog order). ``rotation-report``,
``check-values`` and ``verify`` use only this, so they agree by construction:
a value is ``PRESENT`` only when the version ESO would read holds it, non-empty.
Values are read only to classify them (and, for the age, to compare a value
with its older versions); they are never kept past the reader or printed.

Whatever stops the whole check (credentials, network, TLS, a sealed server, a
missing mount, the deadline) is raised as ``BackendUnreadable`` with one line
naming the real cause; a tool turns it into exit status 2. The client
libraries (boto3, hvac, google-cloud) are imported inside the readers only.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from infra.backends import VALUE_READER, Capability, capability, load
from infra.catalog import Catalog, SecretEntry

T = TypeVar("T")

DEFAULT_DEADLINE_SECONDS = 60.0
DEADLINE_ENV = "ARAGORA_TOOL_DEADLINE"
"""Seconds a tool may take in all (the ``--deadline`` flag wins)."""
MAX_DEADLINE_SECONDS = 3600.0
CALL_TIMEOUT_SECONDS = 10.0
"""One network call's read timeout (connect: ``CONNECT_TIMEOUT_SECONDS``), never past the deadline."""
CONNECT_TIMEOUT_SECONDS = 5.0
RETRIES = 2
"""Retries after a 429 or 5xx answer (or a dropped connection), with exponential backoff."""
BACKOFF_SECONDS = 0.25
"""The first backoff; it doubles per retry (0.25 s, 0.5 s), and a Retry-After header is honoured."""


class ValueState(StrEnum):
    PRESENT = "present"
    """The version ESO reads holds the value, and it is not empty."""
    MISSING = "missing"
    """No value: no secret, no current version, a destroyed or deleted version, a key absent from its group."""
    EMPTY = "empty"
    """The key is there but its value is ``""`` or ``null``: ESO would sync an empty variable."""
    UNREADABLE = "unreadable"
    """The secret is there but ESO cannot take the value from it: not a JSON object, or binary."""


@dataclass(frozen=True)
class Reading:
    """One catalog value as the backend holds it."""

    entry: SecretEntry
    location: str
    """Where it lives, as an operator would look it up (``<secret> / <key>``, ``<mount>/<path> / <key>``, a GCP secret)."""
    state: ValueState
    version: str | None = None
    """The version ESO reads (AWS version id, KV v2 version number, GCP version number); None unless PRESENT."""
    created: dt.datetime | None = None
    """When this value was written: the oldest consecutive version holding the same value (UTC); None unless PRESENT."""
    reason: str = ""
    """Why it is not PRESENT, in words."""

    @property
    def ok(self) -> bool:
        return self.state is ValueState.PRESENT


class BackendUnreadable(Exception):
    """The backend cannot be checked at all; the message is the whole one-line explanation."""


class DeadlineExceeded(BackendUnreadable):
    """The tool's overall deadline passed; the message names what was being waited for."""


class Deadline:
    """A tool's overall time budget: every wait is bounded by what is left of it."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds
        self.doing = "the backend"
        """What the tool is waiting for now: the line printed when the deadline passes."""

    def remaining(self) -> float:
        return self._end - self._clock()

    def bound(self, seconds: float, doing: str | None = None) -> float:
        """``seconds`` cut to what is left; raises ``DeadlineExceeded`` when nothing is."""
        if doing:
            self.doing = doing
        left = self.remaining()
        if left <= 0:
            raise self.exceeded()
        return min(seconds, left)

    def exceeded(self) -> DeadlineExceeded:
        return DeadlineExceeded(f"deadline of {self.seconds:g}s passed waiting for {self.doing} (raise it with --deadline or {DEADLINE_ENV})")

    def run(self, work: Callable[[], T]) -> T:
        """``work()`` within the deadline: a call that hangs past it is abandoned (its thread is a daemon),
        and ``DeadlineExceeded`` names what it was waiting for."""
        outcome: dict[str, Any] = {}

        def target():
            try:
                outcome["value"] = work()
            except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
                outcome["error"] = err

        thread = threading.Thread(target=target, name="backend-read", daemon=True)
        thread.start()
        thread.join(max(self.remaining(), 0))
        if thread.is_alive():
            raise self.exceeded()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]


def deadline_seconds(value: str | None, source: str) -> float:
    """A deadline in seconds from a flag or the environment; ``ValueError`` names ``source`` and what is allowed."""
    try:
        seconds = float(value) if value is not None else DEFAULT_DEADLINE_SECONDS
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= MAX_DEADLINE_SECONDS:  # also refuses nan
        raise ValueError(f"{source} {value!r} is not a number of seconds (allowed: more than 0, at most {MAX_DEADLINE_SECONDS:g})")
    return seconds


def one_line(text: Any) -> str:
    """Every line of an error's text on one line (Vault's ``1 error occurred:\\n\\t* permission denied``)."""
    return " ".join(str(text).split())


def utc(value: Any) -> dt.datetime:
    """A datetime (or RFC 3339 text) in UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if "." not in value else _rfc3339_nanos(value)
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _rfc3339_nanos(value: str) -> dt.datetime:
    # Vault's created_time has nanoseconds, which fromisoformat (3.11) does not take: keep microseconds.
    head, _, frac = value.partition(".")
    digits = "".join(c for c in frac if c.isdigit())
    zone = frac[len(digits):] or "Z"
    return dt.datetime.fromisoformat(f"{head}.{digits[:6].ljust(6, '0')}{zone.replace('Z', '+00:00')}")


def classify(entry: SecretEntry, location: str, document: Any, version: str, created: dt.datetime) -> Reading:
    """A grouped secret's ``document`` (its parsed JSON object) -> the reading of ``entry``'s key in it."""
    if not isinstance(document, dict):
        return Reading(entry, location, ValueState.UNREADABLE, reason=f"version {version} is not a JSON object")
    if entry.key not in document:
        why = "the secret is {}" if not document else f"key {entry.key!r} is absent from version {version}"
        return Reading(entry, location, ValueState.MISSING, reason=why)
    value = document[entry.key]
    if value is None or value == "":
        return Reading(entry, location, ValueState.EMPTY, reason=f"key {entry.key!r} is {'null' if value is None else 'empty'} in version {version}")
    return Reading(entry, location, ValueState.PRESENT, version=version, created=created)


def reader(environment: str, settings: Any, secrets: Catalog, *, deadline: Deadline, kind: Capability | None = None) -> list[Reading]:
    """Every catalog value of ``environment`` as the selected backend holds it, within ``deadline``.

    The backend's ``reader`` module is its capability (``VALUE_READER``, or ``kind``: the rotation report
    asks for ``ROTATION_READER``), imported only now (and its client library only when it runs); a backend
    without one raises ``CapabilityMissing`` ("value reader is not available for <backend>").
    """
    read = capability(load(settings.name), kind or VALUE_READER)
    readings = deadline.run(lambda: read(environment, settings, secrets, deadline=deadline))
    by_entry = {r.entry: r for r in readings}
    if sorted(by_entry, key=id) != sorted(secrets, key=id) or len(readings) != len(secrets):
        raise RuntimeError(f"the {settings.name} reader did not answer once for every catalog value")
    return [by_entry[e] for e in secrets]


class History:
    """A value's older versions, newest first, as ``(created, document)``: each fetched only when the walk
    of ``since`` reaches it, and once per group."""

    def __init__(self, older: list[tuple[dt.datetime, Callable[[], Any]]]):
        self._older = older
        self._fetched: list[tuple[dt.datetime, Any]] = []

    def __iter__(self):
        for i, (created, fetch) in enumerate(self._older):
            if i == len(self._fetched):
                self._fetched.append((created, fetch()))
            yield self._fetched[i]


def since(key: str, document: dict, created: dt.datetime, history) -> dt.datetime:
    """When ``document[key]`` was written: ``created``, walked back over the older versions (newest first,
    ``(created, document)``) while they hold the same value; a gap (deleted, unreadable) stops the walk."""
    for older_created, older in history:
        if not isinstance(older, dict) or key not in older or older[key] != document[key]:
            break
        created = older_created
    return created

"""Field rules for stack config: each rule is written once, next to the field that uses it.

A settings model (``infra.config.CommonSettings`` and one per backend) declares
every key as ``name: <rule> = Field(alias="<Pulumi.yaml key>")``. A rule is an
``Annotated`` type whose validator knows the whole contract of the value: its
type, its format or bounds, and the words "(allowed: ...)" a rejection prints.
Values arrive as the Pulumi CLI passes them, as strings; formats are matched
whole and ASCII-only (``re.fullmatch`` with ``re.ASCII``), so a trailing newline
or a full-width digit is never a valid value.

Every rejection is one line: ``aragora-secrets:<key>: <quoted value> <reason> (allowed: ...)``.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, NoReturn

import pulumi
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from infra.durations import go_duration_seconds

if TYPE_CHECKING:
    from infra.catalog import Catalog
    from infra.separation import Claim

PROJECT = "aragora-secrets"
MAX_JSON_CHARS = 64 * 1024
"""A structured value (a list, a map) longer than a stack file may be is refused before it is parsed."""


class ConfigError(pulumi.RunError):
    """A stack config value is invalid. Reported as one line, never a traceback."""


def quote(value: Any) -> str:
    """A value quoted for a one-line message: repr, newlines escaped, long ones cut."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"


def quote_key(key: Any) -> str:
    """A config key as messages show it: as is when printable and short, else quoted."""
    text = str(key)
    return text if text.isprintable() and len(text) <= 80 else quote(text)


def reject(key: str, value: Any, reason: str) -> NoReturn:
    """Raise the one-line error for ``key``; ``reason`` ends with ``(allowed: ...)``."""
    raise ConfigError(f"{PROJECT}:{quote_key(key)}: {quote(value)} {reason}")


def _is_text(value: Any, allowed: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"is not text (allowed: {allowed})")
    return value


def text(pattern: str, allowed: str, *, optional: bool = False) -> Any:
    """A string matching ``pattern`` whole; with ``optional``, ``""`` (the default) is None."""
    regex = re.compile(pattern, re.ASCII)

    def check(value: Any) -> str | None:
        value = _is_text(value, allowed)
        if optional and value == "":
            return None
        if not regex.fullmatch(value):
            raise ValueError(f"is not allowed (allowed: {allowed})")
        return value

    return Annotated[str | None if optional else str, BeforeValidator(check)]


def integer(low: int, high: int, why: str = "") -> Any:
    """A whole number in ``low..high``, written in ASCII digits (no ``2.0``, ``0_2`` or ``0x2``)."""
    allowed = f"an integer from {low} to {high}{f'; {why}' if why else ''}"

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"is not an integer (allowed: {allowed})")
        if isinstance(value, str):
            if not re.fullmatch(r"-?[0-9]{1,9}", value, re.ASCII):
                raise ValueError(f"is not an integer (allowed: {allowed})")
            value = int(value)
        if not low <= value <= high:
            raise ValueError(f"is out of range (allowed: {allowed})")
        return value

    return Annotated[int, BeforeValidator(check)]


def _flag(value: Any) -> bool:
    # Exactly YAML 1.2's booleans as the CLI passes them: `on`, `yes` and `1` are strings there.
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("is not a boolean (allowed: true or false)")


Flag = Annotated[bool, BeforeValidator(_flag)]


def choice(enum: type[StrEnum]) -> Any:
    """One of ``enum``'s values, spelled exactly."""
    allowed = ", ".join(e.value for e in enum)

    def check(value: Any) -> StrEnum:
        if isinstance(value, enum):
            return value
        if isinstance(value, str) and value in enum._value2member_map_:
            return enum(value)
        raise ValueError(f"is not allowed (allowed: {allowed})")

    return Annotated[enum, BeforeValidator(check)]


def duration(low_seconds: int, high_seconds: int, bounds: str, why: str) -> Any:
    """A Go duration string (``5m``, ``1h30m``) in ``bounds``; kept as written, ESO parses it."""

    def check(value: Any) -> str:
        value = _is_text(value, f"a Go duration within {bounds}, e.g. 5m, 1h")
        seconds = go_duration_seconds(value)
        if seconds is None:
            raise ValueError(f"is not a Go duration (allowed: e.g. 5m, 1h, 1h30m, within {bounds})")
        if not low_seconds <= seconds <= high_seconds:
            raise ValueError(f"is outside {bounds} (allowed: {bounds}; {why})")
        return value

    return Annotated[str, BeforeValidator(check)]


def text_list(pattern: str, allowed: str) -> Any:
    """A list of distinct strings, each matching ``pattern``; the CLI passes it as JSON."""
    regex = re.compile(pattern, re.ASCII)
    what = f"a YAML list of {allowed}, each once"

    def check(value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            if len(value) > MAX_JSON_CHARS:
                raise ValueError(f"is longer than {MAX_JSON_CHARS // 1024} KiB (allowed: {what})")
            try:
                value = json.loads(value) if value else []
            except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
                raise ValueError(f"is not a list (allowed: {what})") from None
        if not isinstance(value, list | tuple):
            raise ValueError(f"is not a list (allowed: {what})")
        for item in value:
            if not isinstance(item, str) or not regex.fullmatch(item):
                raise ValueError(f"has {quote(item)}, which is not allowed (allowed: {what})")
        if len(set(value)) != len(value):
            raise ValueError(f"names an item twice (allowed: {what})")
        return tuple(value)

    return Annotated[tuple[str, ...], BeforeValidator(check)]


class Settings(BaseModel):
    """A frozen group of config keys; field aliases are the ``Pulumi.yaml`` names."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False)

    @classmethod
    def config_keys(cls) -> tuple[str, ...]:
        """The config keys this model owns, as ``Pulumi.yaml`` spells them."""
        return tuple(f.alias or name for name, f in cls.model_fields.items())

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Any:
        """Validate the keys this model owns out of ``raw``; raise ``ConfigError`` on the first problem."""
        mine = {k: raw[k] for k in cls.config_keys() if k in raw}
        try:
            return cls.model_validate(mine)
        except ValidationError as err:
            first = err.errors()[0]
            key = str(first["loc"][0]) if first["loc"] else "?"
            if first["type"] == "missing":
                raise ConfigError(
                    f"{PROJECT}:{quote_key(key)}: missing "
                    f"(required: set it with `pulumi config set {quote_key(key)} <value>` in this stack)"
                ) from None
            reason = first["msg"].removeprefix("Value error, ")
            raise ConfigError(f"{PROJECT}:{quote_key(key)}: {quote(mine.get(key))} {reason}") from None


class BackendSettings(Settings):
    """The keys of one secret backend; each backend's contract names its class (``infra.backends.base.Backend``)."""

    name: ClassVar[str]
    """The ``backend`` config value that selects this backend."""
    store_name: ClassVar[str]
    """Name of the ClusterSecretStore the ExternalSecrets reference."""
    primary_keys: ClassVar[tuple[str, ...]] = ()
    """Environment keys judged against the primary region alone (``infra.clusters``): a cluster in another
    region does not read them, so they are not judged against its region (AWS: the rotation Lambdas,
    which Secrets Manager invokes in the primary region, where rotation stays)."""

    def exclusive(self) -> list[Claim]:
        """What no other environment of the project may also use (``infra.separation``)."""
        return []

    def check_cluster(self, primary: BackendSettings) -> None:
        """Refuse, with ``reject``, what this backend cannot serve in one more cluster of the
        environment (``infra.clusters``): ``self`` is that cluster's settings, ``primary`` the top level's."""

    def check_catalog(self, environment: str, secrets: Catalog) -> None:
        """Refuse, with ``reject``, what only the catalog can show wrong (e.g. a group it does not have, a
        name the stack gives its own reader); called before anything is declared."""

    def check_kube_context(self, context: str) -> None:
        """Refuse a ``kubeContext`` that names another authority than this backend's (e.g. another
        account's EKS cluster), with ``reject``; most contexts are plain names and pass."""

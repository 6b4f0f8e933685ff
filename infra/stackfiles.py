"""Stack files as the Pulumi CLI assembles them into the program's config.

One loader for the program (which compares its stack with the project's other
stack files, ``infra.separation``), the offline plan, the tests, the CI matrix
and ``ops``:
``Pulumi.yaml`` defaults first, then the stack file's ``config:`` block,
values encoded the way the CLI hands them to the program (strings, lists as
JSON). ``environments()`` lists the stacks of a directory: every
``Pulumi.<name>.yaml`` is one.

Read as the CLI reads them (Go yaml.v3, YAML 1.2), never as PyYAML's YAML 1.1:
a top-level value is its text (``on``, ``yes``, ``0x10``, ``2.0`` stay
strings; the CLI stores every top-level scalar as a string and the value rules
decide). Inside a map or a list (an object value, which the CLI hands over as
JSON and ``pulumi.Config.get_object`` reads back with ``json.loads``) scalars
keep their YAML 1.2 core types: ``9443`` is an int, ``false`` a bool, ``~`` a
null, ``1.5`` a float; ``"0"`` and ``on`` stay strings. Duplicate keys
(and so a second ``config:`` block) are an error, anchors, aliases and
explicit tags are refused (no alias bomb: the offline plan runs on fork pull
requests), and a file over 64 KiB is refused unread.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import os
import re
import stat as stat_module
from pathlib import Path
from typing import Any

import yaml

from infra.fields import PROJECT, ConfigError, quote, quote_key

ROOT = Path(__file__).resolve().parent.parent
_STACK_FILE = re.compile(r"Pulumi\.(?P<stack>[^.]+)\.yaml")


def encode_value(value: Any) -> str:
    """A YAML config value as the Pulumi CLI hands it to the program: a string (an object or a list as JSON,
    its scalars typed)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        # allow_nan=False: Go's encoding/json cannot encode .inf or .nan, so the CLI cannot pass them.
        return json.dumps(value, allow_nan=False)
    return str(value)


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), as yaml.v3 resolves a plain
# scalar inside an object value. Each pattern is anchored, has no nested quantifier, and is only tried
# on scalars of at most _TYPED_MAX characters (longer ones stay text: no number is that long).
_TYPED_MAX = 64
_CORE_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_CORE_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_CORE_SPECIAL = {".inf": "inf", ".Inf": "inf", ".INF": "inf", "+.inf": "inf", "+.Inf": "inf", "+.INF": "inf",
                 "-.inf": "-inf", "-.Inf": "-inf", "-.INF": "-inf", ".nan": "nan", ".NaN": "nan", ".NAN": "nan"}


def core_scalar(text: str) -> Any:
    """A plain scalar inside an object value, typed as YAML 1.2's core schema types it."""
    if len(text) > _TYPED_MAX:
        return text
    if text in _CORE_BOOL:
        return _CORE_BOOL[text]
    if _CORE_INT.fullmatch(text):
        value = int(text, 8) if text.startswith("0o") else int(text, 16) if text.startswith("0x") else int(text)
        # yaml.v3 decodes into int64: a larger number is a float there.
        return value if -(2**63) <= value < 2**63 else float(value)
    if _CORE_FLOAT.fullmatch(text):
        return float(text)
    if text in _CORE_SPECIAL:
        return float(_CORE_SPECIAL[text])
    return text


MAX_FILE_BYTES = 64 * 1024
# Deep enough for any config value this project takes (esoValues' affinity is
# the deepest), shallow enough that a hostile file cannot exhaust the stack.
MAX_DEPTH = 24
# Provider keys this project accepts in a stack file. Its providers are all
# explicit, so provider config (aws:region, vault:address, ...) would configure
# nothing and mislead; only this hardening switch is meaningful.
PROVIDER_KEYS_ALLOWED = frozenset({"pulumi:disable-default-providers"})
_CREDENTIAL = re.compile(r"token|secret|password|passwd|credential|private.?key|access.?key|client.?key|kubeconfig|cert.?data|auth", re.I)


class _Refused(yaml.YAMLError):
    """A YAML construct the CLI refuses, or that this project does not accept."""


class _StackFileLoader(yaml.SafeLoader):
    """YAML 1.2 core as yaml.v3 hands stack config to a string: plain scalars are their text."""

    yaml_implicit_resolvers: dict = {}  # no YAML 1.1 booleans, ints or floats

    def _compose_checked(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise _Refused("an alias (allowed: plain values; anchors and aliases are refused)")
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise _Refused(f"an anchor &{event.anchor} (allowed: plain values; anchors and aliases are refused)")
        if getattr(event, "tag", None) not in (None, "!"):
            raise _Refused(f"an explicit tag {event.tag} (allowed: plain values)")
        return super().compose_node(parent, index)

    def compose_node(self, parent, index):
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"values nested deeper than {MAX_DEPTH} levels (allowed: a config: mapping of plain values, lists and maps)")
            return self._compose_checked(parent, index)
        finally:
            self._depth -= 1

    def construct_scalar(self, node):
        text = super().construct_scalar(node)
        if isinstance(node, yaml.ScalarNode) and node.style is None and self._typed(node):
            return core_scalar(text)
        return text

    def _typed(self, node) -> bool:
        """Is ``node`` a plain scalar inside a config value's map or list (not a key, not top level)?"""
        return id(node) in self._typed_nodes

    def construct_document(self, node):
        # Mark the scalars of object values: config -> <key> -> <map or list> -> ... (values, not keys).
        self._typed_nodes: set[int] = set()
        if isinstance(node, yaml.MappingNode):
            for key, section in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == "config" and isinstance(section, yaml.MappingNode):
                    for _, value in section.value:
                        if isinstance(value, yaml.MappingNode | yaml.SequenceNode):
                            self._mark(value)
        return super().construct_document(node)

    def _mark(self, node) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, yaml.MappingNode):
                for _, value in current.value:
                    stack.append(value)
            elif isinstance(current, yaml.SequenceNode):
                stack.extend(current.value)
            else:
                self._typed_nodes.add(id(current))

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused("a complex key (a list or map used as a key; allowed: plain text keys)")
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _Refused(f"the key {quote_key(key)} twice (allowed: each key once, as the Pulumi CLI requires)")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StackFileLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


@functools.lru_cache(maxsize=64)
def _parse(text: str) -> Any:
    # By content: the same stack file is read by the plan, its neighbours' separation check and the
    # tools, and this careful YAML 1.2 reader is slow. Callers get a copy (they may change it);
    # what it raises is never cached.
    return yaml.load(text, Loader=_StackFileLoader)  # noqa: S506 - a SafeLoader subclass


def _read_yaml(path: Path, what: str) -> Any:
    """The document of ``path``; every problem is one ConfigError line naming the file."""
    allowed = "a stack file Pulumi.<stack>.yaml, UTF-8 YAML with a config: mapping"
    try:
        if path.is_dir():
            raise ConfigError(f"{PROJECT}: {what}: {quote(str(path))} is a directory (allowed: {allowed})")
        status = path.stat()
        if not stat_module.S_ISREG(status.st_mode):
            # A FIFO would block the read forever, a device never ends: refuse before opening.
            raise ConfigError(f"{PROJECT}: {what}: {quote(str(path))} is not a regular file (allowed: {allowed})")
        if status.st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{PROJECT}: {what}: {quote(str(path))} is larger than {MAX_FILE_BYTES // 1024} KiB (allowed: {allowed})")
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ConfigError(f"{PROJECT}: {what}: {quote(str(path))} is larger than {MAX_FILE_BYTES // 1024} KiB (allowed: {allowed})")
        return copy.deepcopy(_parse(raw.decode("utf-8")))
    except FileNotFoundError:
        raise ConfigError(f"{PROJECT}: {what}: {quote(str(path))} not found (allowed: {allowed})") from None
    except PermissionError:
        raise ConfigError(f"{PROJECT}: {what}: {quote(str(path))} is not readable (allowed: {allowed})") from None
    except _Refused as err:
        raise ConfigError(f"{PROJECT}: {what}: {quote(str(path))} has {err}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{PROJECT}: {what}: {quote(str(path))} is not valid YAML{where} ({type(err).__name__}; allowed: {allowed})") from None
    except (OSError, ValueError, RecursionError, TypeError) as err:
        # Whatever else reading can raise (a path with a NUL, a loop of symlinks, ...): one line, never a traceback.
        raise ConfigError(f"{PROJECT}: {what}: {quote(str(path))} cannot be read ({type(err).__name__}; allowed: {allowed})") from None


def check_namespaces(keys: Any, secret_keys: Any = ()) -> None:
    """Refuse keys outside the project namespace (but the allowlist), credentials anywhere, secure values.

    One rule for the offline plan (stack file keys) and the program (the
    runtime's config map, with the keys the CLI decrypted as ``secret_keys``).
    """
    for key in keys:
        key = str(key)
        namespace, _, name = key.partition(":")
        if not name:
            raise ConfigError(f"{quote_key(key)}: not namespaced (allowed: {PROJECT}:<key>)")
        if key in secret_keys:
            # Values never live in stack config; see docs/deploying.md, "Putting the values".
            raise ConfigError(f"{quote_key(key)}: a secure value (allowed: plain settings only; secret values go straight into the backend)")
        if namespace == PROJECT or key in PROVIDER_KEYS_ALLOWED:
            continue
        if _CREDENTIAL.search(name):
            raise ConfigError(
                f"{quote_key(key)}: a credential in stack config (allowed: none; credentials come from the environment "
                "of `pulumi up`, e.g. VAULT_TOKEN, AWS_PROFILE, GOOGLE_APPLICATION_CREDENTIALS)"
            )
        if difflib.SequenceMatcher(None, namespace.lower(), PROJECT).ratio() > 0.8:
            raise ConfigError(f"{quote_key(key)}: namespace {quote_key(namespace)} is not {PROJECT} (allowed: {PROJECT}:{quote_key(name)})")
        raise ConfigError(
            f"{quote_key(key)}: provider configuration is not read by this project, its providers are explicit "
            f"(allowed: {PROJECT}:<key>, or {', '.join(sorted(PROVIDER_KEYS_ALLOWED))})"
        )


def declared_config(project_file: Path = ROOT / "Pulumi.yaml") -> dict[str, dict[str, Any]]:
    """The project-level ``config:`` block: ``{key: {type, description, default?}}``."""
    return copy.deepcopy(_declared_config(project_file, _version(project_file)))


def _version(project_file: Path) -> tuple | None:
    """Which version of the file the cache holds: a rewritten Pulumi.yaml is read again."""
    try:
        stat = project_file.stat()
    except OSError:
        return None  # _read_yaml reports it
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


@functools.lru_cache(maxsize=8)
def _declared_config(project_file: Path, identity: tuple | None) -> dict[str, dict[str, Any]]:
    # Parsed once per version of the file: every stack render reads it, and the
    # careful YAML 1.2 reader is slow enough to dominate a test run otherwise.
    return (_read_yaml(project_file, "Pulumi.yaml") or {}).get("config") or {}


def project_defaults(project_file: Path = ROOT / "Pulumi.yaml") -> dict[str, str]:
    """``{namespaced key: encoded default}`` from the project-level ``config:`` block.

    Read-only over the cached parse (no deep copy): every stack parse asks for these."""
    return {
        f"{PROJECT}:{key}": encode_value(spec["default"])
        for key, spec in _declared_config(project_file, _version(project_file)).items()
        if isinstance(spec, dict) and "default" in spec
    }


def project_directory(config_file: Path | None) -> Path:
    """Where a stack's neighbours are: beside ``--config-file`` as it is spelt (a symlink is never followed
    to its target's directory, whose stacks are another project's), else the project root."""
    return Path(os.path.abspath(config_file)).parent if config_file else ROOT


def stack_file(stack: str, directory: Path = ROOT) -> Path:
    return directory / f"Pulumi.{stack}.yaml"


def stack_of(path: Path) -> str | None:
    """The stack a ``Pulumi.<stack>.yaml`` file configures, by its name."""
    match = _STACK_FILE.fullmatch(path.name)
    return match["stack"] if match else None


def environments(directory: Path = ROOT) -> list[str]:
    """Every stack of ``directory``, sorted: each ``Pulumi.<name>.yaml`` is an environment."""
    return sorted(s for p in directory.glob("Pulumi.*.yaml") if (s := stack_of(p)))


def stack_config(stack: str, config_file: Path | None = None) -> dict[str, str]:
    """The config the CLI would pass for ``stack``: project defaults, then the stack file."""
    path = config_file or stack_file(stack)
    if config_file is None and not path.exists() and not path.is_symlink():
        # The usual slip is a misspelt name: say which stacks there are.
        raise ConfigError(f"{PROJECT}: stack {quote(stack)}: no {path.name} (allowed: {', '.join(environments(path.parent)) or 'none yet'})")
    doc = _read_yaml(path, "--config-file" if config_file else f"stack {stack}")
    if doc is None:
        doc = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}) or {}, dict):
        raise ConfigError(f"{PROJECT}: {quote(str(path))} is not a mapping with a config: mapping (allowed: config: {{{PROJECT}:<key>: <value>, ...}})")
    if "environment" in doc:
        # `pulumi up` would merge values this reader cannot see: the offline plan, the diff and the
        # separation check would compare less than the deployment uses.
        raise ConfigError(
            f"{PROJECT}: {quote(str(path))} imports Pulumi ESC environments (environment:) "
            "(allowed: every setting in the stack file itself; ESC values are invisible to the offline plan and the separation check)"
        )
    config = doc.get("config") or {}
    check_namespaces(config, [k for k, v in config.items() if isinstance(v, dict) and "secure" in v])
    values = dict(project_defaults())
    for key, value in config.items():
        try:
            values[str(key)] = encode_value(value)
        except ValueError:
            # .inf/.nan inside a map or list: Go's encoding/json cannot pass them, so the CLI cannot either.
            raise ConfigError(f"{quote_key(key)}: holds .inf or .nan (allowed: finite numbers; the Pulumi CLI cannot pass others)") from None
    return values

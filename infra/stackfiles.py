"""Stack files as the Pulumi CLI assembles them into the program's config.

One loader for the program (which compares its stack with the project's other
stack files, ``infra.separation``), the offline plan, the tests, the CI matrix
and ``ops``:
``Pulumi.yaml`` defaults first, then the stack file's ``config:`` block,
values encoded the way the CLI hands them to the program (strings, lists as
JSON). ``environments()`` lists the stacks of a directory: every
``Pulumi.<name>.yaml`` is one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from infra.fields import PROJECT, ConfigError, quote_key

ROOT = Path(__file__).resolve().parent.parent
_STACK_FILE = re.compile(r"Pulumi\.(?P<stack>[^.]+)\.yaml")


def encode_value(value: Any) -> str:
    """A YAML config value as the Pulumi CLI hands it to the program: a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what}: {path} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{what}: {path} is a directory (allowed: a stack file, Pulumi.<stack>.yaml)") from None
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{what}: {path} is not valid YAML ({type(err).__name__})") from None


def declared_config(project_file: Path = ROOT / "Pulumi.yaml") -> dict[str, dict[str, Any]]:
    """The project-level ``config:`` block: ``{key: {type, description, default?}}``."""
    return (_read_yaml(project_file, "Pulumi.yaml") or {}).get("config") or {}


def project_defaults(project_file: Path = ROOT / "Pulumi.yaml") -> dict[str, str]:
    """``{namespaced key: encoded default}`` from the project-level ``config:`` block."""
    return {
        f"{PROJECT}:{key}": encode_value(spec["default"])
        for key, spec in declared_config(project_file).items()
        if isinstance(spec, dict) and "default" in spec
    }


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
    doc = _read_yaml(path, "--config-file" if config_file else f"stack {stack}")
    if doc is None:
        doc = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}) or {}, dict):
        raise ConfigError(f"{path}: expected a mapping with a `config:` mapping")
    values = dict(project_defaults())
    for key, value in (doc.get("config") or {}).items():
        key = str(key)
        if ":" not in key:
            raise ConfigError(f"{quote_key(key)}: config keys must be namespaced (allowed: {PROJECT}:<key>)")
        if isinstance(value, dict) and "secure" in value:
            # Values never live in stack config; see README "Putting the values".
            raise ConfigError(f"{quote_key(key)}: secure values are not allowed in this project's stack config")
        values[key] = encode_value(value)
    return values

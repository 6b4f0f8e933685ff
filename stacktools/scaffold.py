"""A new backend's skeleton: the paths a backend is, written so the whole suite stays green.

    python -m stacktools.scaffold <name>      (make backend NAME=<name>, which then runs make docs)

Writes five files (``make docs`` then adds the keys to ``Pulumi.yaml`` and
``docs/configuration.md``: seven paths in all, counted by a test on a copy of
the tree):

- ``infra/backends/<name>/__init__.py``: ``BACKEND``, its keys and the facts of its types;
- ``infra/backends/<name>/settings.py``: its settings model, one key (``<name>Endpoint``);
- ``infra/backends/<name>/declare.py``: its provider, one item per catalog value, the store's provider block;
- ``components/<name>/__init__.py``: its component (one item per value);
- ``examples/<name>/Pulumi.staging.yaml``: a stack of it, so every test over the examples covers it.

The provider and item types are placeholders (``<name>:index/item:Item``):
replace them with the real provider's, its ForceNew inputs and its ESO
provider block. The capabilities (``reader.py``, ``workspace.py``,
``access.py``, ``ci.py``, ``prices.json``) come later, one file each; until
then the tools that need one say "<capability> is not available for <name>".

Exit status: 0 written, 2 a bad or taken name (one line on stderr).
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from pathlib import Path

from infra.stackfiles import ROOT
from stacktools import cli

NAME = re.compile(r"[a-z][a-z0-9]{1,15}")

FILES = {
    "infra/backends/{name}/__init__.py": '''
        """{Name}: one item per catalog value (a skeleton from `make backend NAME={name}`: replace the placeholder types).

        ``BACKEND`` is this backend's core (``infra.backends.base.Backend``): its
        settings, its ``Pulumi.yaml`` keys and the facts of every type
        ``declare.py`` can declare. Capabilities (``reader.py``, ``workspace.py``,
        ``access.py``, ``ci.py``, ``prices.json``) are added as files beside it.
        """

        from __future__ import annotations

        from typing import Any

        from components.facts import Facts
        from infra.backends.base import Backend, Mocked, MockRequest
        from infra.backends.{name}.settings import {Name}Settings


        def _item(r: MockRequest) -> Mocked:
            item_id = f"{name}/{{r.inputs['name']}}"
            return item_id, {{**r.inputs, "id": item_id}}


        KEYS: dict[str, dict[str, Any]] = {{
            "{name}Endpoint": {{
                "type": "string",
                "default": "",
                "description": "HTTPS address of the {name} API (backend {name}).",
            }},
        }}

        BACKEND = Backend(
            settings={Name}Settings,
            keys=KEYS,
            resources={{
                "pulumi:providers:{name}": Facts(("endpoint",)),
                "{name}:index/item:Item": Facts(
                    ("name",), data_loss="deletes the item and its value", grant=True, unique_on=("name",), mock=_item
                ),
            }},
        )
    ''',
    "infra/backends/{name}/settings.py": '''
        """The {name} backend's config keys: one field per ``Pulumi.yaml`` key, rule and message beside it."""

        from __future__ import annotations

        from typing import ClassVar

        from pydantic import Field, model_validator

        from infra.fields import BackendSettings, reject, text


        class {Name}Settings(BackendSettings):
            name: ClassVar[str] = "{name}"
            store_name: ClassVar[str] = "{name}"

            endpoint: text(r"https://[a-z0-9.-]+(:[0-9]{{1,5}})?", "an https URL, e.g. https://{name}.example.com", optional=True) = Field(
                alias="{name}Endpoint"
            )

            @model_validator(mode="after")
            def _endpoint_set(self) -> {Name}Settings:
                if not self.endpoint:
                    reject("{name}Endpoint", "", "is empty (required with backend {name}: the API address)")
                return self
    ''',
    "infra/backends/{name}/declare.py": '''
        """{Name}: its provider, one item per catalog value, and the store's provider block.

        Turns ``{Name}Settings`` and the catalog into the arguments of ``components/{name}``.
        """

        from __future__ import annotations

        import pulumi

        from components.{name} import {Name}Items, {Name}ItemsArgs
        from infra.backends.base import Declared, RemoteRef


        def declare(environment, settings, secrets, k8s_provider, eso) -> Declared:
            provider = pulumi.ProviderResource("{name}", "{name}", {{"endpoint": settings.endpoint}})
            items = {Name}Items(
                "{name}",
                {Name}ItemsArgs(names=[secrets.app.per_value_id(environment, e) for e in secrets]),
                opts=pulumi.ResourceOptions(provider=provider),
            )
            return Declared(
                store_name=settings.store_name,
                # ESO authenticates as its own service account: the store names it (namespace included).
                store_provider={{"{name}": {{"endpoint": settings.endpoint, "auth": {{"serviceAccountRef": eso.ref()}}}}}},
                remote_ref=lambda e: RemoteRef(secrets.app.per_value_id(environment, e)),
                grants=tuple(items.items),
            )
    ''',
    "components/{name}/__init__.py": '''
        """{Name} items: one per value of one environment.

        Owns: one ``{name}:index/item:Item`` per name it is given.
        Does not own: the values (written by operators), nor who reads them (the store).
        """

        from __future__ import annotations

        from collections.abc import Sequence
        from dataclasses import dataclass

        import pulumi


        @dataclass(frozen=True)
        class {Name}ItemsArgs:
            names: Sequence[str]
            """The items' names, one per catalog value."""


        class {Name}Items(pulumi.ComponentResource):
            """One item per name."""

            def __init__(self, name: str, args: {Name}ItemsArgs, opts: pulumi.ResourceOptions | None = None):
                super().__init__("aragora:{name}:Items", name, None, opts)
                self.items = [
                    pulumi.CustomResource("{name}:index/item:Item", f"{{name}}-{{n}}", {{"name": n}}, opts=pulumi.ResourceOptions(parent=self))
                    for n in args.names
                ]
                self.register_outputs({{}})
    ''',
    "examples/{name}/Pulumi.staging.yaml": '''
        config:
          aragora-secrets:backend: {name}
          aragora-secrets:kubeContext: {name}-staging
          aragora-secrets:{name}Endpoint: https://{name}.example.com
    ''',
}


def write(name: str, root: Path = ROOT) -> list[Path]:
    """Write the skeleton of backend ``name`` under ``root``; returns the paths written."""
    written = []
    for template, text in FILES.items():
        path = root / template.format(name=name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text.format(name=name, Name=name.capitalize())).lstrip())
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacktools.scaffold", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the backend's name: its `backend` config value and package name")
    args = parser.parse_args(argv)
    if not NAME.fullmatch(args.name):
        print(f"error: backend name {args.name!r} (allowed: a lower-case letter, then 1-15 lower-case letters or digits)", file=sys.stderr)
        return 2
    taken = [p for p in (ROOT / "infra/backends" / args.name, ROOT / "components" / args.name, ROOT / "examples" / args.name) if p.exists()]
    if taken:
        print(f"error: backend {args.name!r} exists already ({taken[0].relative_to(ROOT)}; allowed: a new name)", file=sys.stderr)
        return 2
    for path in write(args.name):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    cli.run(main)

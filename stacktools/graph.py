"""The resource tree as a Graphviz graph: components as clusters, edges for parent and depends_on."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any


def _id(urn: str) -> str:
    return '"' + urn.replace('"', '\\"') + '"'


def _label(r: dict[str, Any]) -> str:
    return f"{r['type']}\\n{r['name']}".replace('"', '\\"')


def to_dot(resources: list[dict[str, Any]], title: str) -> str:
    """DOT text: every resource a node, every parent link and dependency an edge."""
    by_parent: dict[str | None, list[dict[str, Any]]] = {}
    for r in resources:
        by_parent.setdefault(r["parent"], []).append(r)
    components = {r["urn"] for r in resources if not r["custom"]}
    lines = [
        "digraph plan {",
        f'  label="{title}"; labelloc=t; rankdir=LR; compound=true;',
        '  node [shape=box, style="rounded,filled", fillcolor="#f5f5f5", fontname="Helvetica", fontsize=10];',
    ]

    def emit(parent: str | None, indent: str) -> None:
        for r in by_parent.get(parent, []):
            if r["urn"] in components and r["type"] != "pulumi:pulumi:Stack":
                lines.append(f'{indent}subgraph "cluster_{r["urn"]}" {{')
                lines.append(f'{indent}  label="{_label(r)}"; style=rounded; color="#4a6fa5";')
                lines.append(f'{indent}  {_id(r["urn"])} [label="{_label(r)}", shape=component, fillcolor="#dde6f3"];')
                emit(r["urn"], indent + "  ")
                lines.append(f"{indent}}}")
            else:
                color = ', fillcolor="#fde2e2"' if r.get("protect") else ""
                lines.append(f'{indent}{_id(r["urn"])} [label="{_label(r)}"{color}];')
                emit(r["urn"], indent)

    emit(None, "  ")
    for r in resources:
        if r["parent"]:
            lines.append(f'  {_id(r["parent"])} -> {_id(r["urn"])} [style=dashed, color="#999999", arrowhead=none];')
        for dep in r["depends_on"]:
            lines.append(f"  {_id(dep)} -> {_id(r['urn'])};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(resources: list[dict[str, Any]], title: str, out: Path) -> str | None:
    """Write graph.dot, and graph.svg when Graphviz is installed; return a note when it is not."""
    dot_file = out / "graph.dot"
    dot_file.write_text(to_dot(resources, title))
    dot = shutil.which("dot")
    if dot is None:
        return "note: Graphviz `dot` not found; wrote graph.dot only (apt-get install graphviz for graph.svg)"
    subprocess.run([dot, "-Tsvg", str(dot_file), "-o", str(out / "graph.svg")], check=True, timeout=60)
    return None

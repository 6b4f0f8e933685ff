"""Vault access documents: every policy the stack declares, as the HCL Vault stores, for ``plan --out``'s policies/."""

from __future__ import annotations

from typing import Any


def documents(stack: str, resources: list[dict[str, Any]]) -> dict[str, str]:
    return {f"{r['inputs']['name']}.hcl": r["inputs"]["policy"] for r in resources if r["type"] == "vault:index/policy:Policy"}

"""GCP access documents: every per-secret accessor binding the stack declares, for ``plan --out``'s policies/."""

from __future__ import annotations

import json
from typing import Any


def documents(stack: str, resources: list[dict[str, Any]]) -> dict[str, str]:
    bindings = [
        {k: r["inputs"][k] for k in ("secretId", "role", "member")}
        for r in resources
        if r["type"] == "gcp:secretmanager/secretIamMember:SecretIamMember"
    ]
    if not bindings:
        return {}
    return {f"gcp-{stack}-secret-accessors.json": json.dumps(sorted(bindings, key=lambda b: b["secretId"]), indent=2) + "\n"}

"""AWS access documents: every IAM policy and trust policy the stack declares, for ``plan --out``'s policies/."""

from __future__ import annotations

import json
from typing import Any


def _pretty_json(document: str) -> str:
    return json.dumps(json.loads(document), indent=2) + "\n"


def documents(stack: str, resources: list[dict[str, Any]]) -> dict[str, str]:
    docs = {}
    for r in resources:
        if r["type"] == "aws:iam/policy:Policy":
            docs[f"{r['inputs']['name']}.json"] = _pretty_json(r["inputs"]["policy"])
        elif r["type"] == "aws:iam/role:Role":
            docs[f"{r['inputs']['name']}-trust.json"] = _pretty_json(r["inputs"]["assumeRolePolicy"])
    return docs

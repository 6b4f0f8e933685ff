"""The aragora-secrets policy pack: `pulumi preview --policy-pack policy`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402
from rules import RULES  # noqa: E402

PolicyPack(name="aragora-secrets-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=RULES)

"""The aragora-secrets policy pack: `pulumi preview --policy-pack policy`.

The pack runs in its own virtualenv (PulumiPolicy.yaml), where the project is
not installed: put this directory (``rules``) and the project root (the
standard-library-only ``infra.durations`` the rules share with the stack
config) on ``sys.path``. The only such patch in the project.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402
from rules import RULES  # noqa: E402

PolicyPack(name="aragora-secrets-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=RULES)

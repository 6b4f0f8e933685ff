"""Stack program entry point, run by the Pulumi language host.

The host runs ``runpy.run_path("infra/")`` with the project root as cwd, which
puts ``infra/`` (not the root) on ``sys.path``; add the root so ``components``
and ``infra`` import the same way here, in tests and in the offline plan.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from infra import config, stack  # noqa: E402

stack.build(config.load())

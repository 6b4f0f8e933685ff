"""Stack program entry point, run by the Pulumi language host (``main: infra/``).

The project is installed into ``.venv`` in editable mode (``requirements.txt``
names it), so ``infra`` imports the same way here, in the tests and in the
offline tooling, with no ``sys.path`` patching.
"""

from infra import config, stack

stack.build(config.load())

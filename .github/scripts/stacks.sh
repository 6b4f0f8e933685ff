#!/usr/bin/env bash
# Write the stack list for a job matrix to $GITHUB_OUTPUT as `stacks=<JSON list>`,
# built from the Pulumi.<stack>.yaml files (stacktools.matrix); arguments pass through.
set -euo pipefail
make deps > /dev/null
stacks=$(.venv/bin/python -m stacktools.matrix "$@")
echo "stacks: ${stacks}"
if [ "$stacks" = "[]" ]; then
  echo "no stack is due" >&2
fi
echo "stacks=${stacks}" >> "${GITHUB_OUTPUT:-/dev/stdout}"

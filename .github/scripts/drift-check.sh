#!/usr/bin/env bash
# Non-mutating drift check of one stack; keeps one GitHub issue per stack in step:
# opened or updated while drift lasts, closed when the stack is clean again.
set -euo pipefail
: "${STACK:?}" "${RUN_URL:?}"

pulumi login ${PULUMI_BACKEND_URL:+"$PULUMI_BACKEND_URL"}

set +e
pulumi refresh --preview-only --expect-no-changes --diff --non-interactive --stack "$STACK" > drift.txt 2>&1
status=$?
set -e
cat drift.txt

title="Drift detected in stack ${STACK}"
label="drift"
gh label create "$label" --color B60205 --description "Live infrastructure differs from its Pulumi stack" --force > /dev/null
number=$(gh issue list --state open --label "$label" --json number,title \
  --jq ".[] | select(.title == \"${title}\") | .number" | head -n 1)

if [ "$status" -eq 0 ]; then
  echo "no drift in ${STACK}"
  if [ -n "$number" ]; then
    gh issue close "$number" --comment "Drift cleared: ${RUN_URL}"
  fi
  exit 0
fi

{
  echo "\`pulumi refresh --preview-only --expect-no-changes\` found differences in **${STACK}** (${RUN_URL})."
  echo
  echo '```'
  tail -c 60000 drift.txt
  echo '```'
  echo
  echo "Remediate: \`pulumi preview --refresh --stack ${STACK}\`, then \`pulumi up --refresh --stack ${STACK}\` (README, Runbook)."
} > drift-issue.md

if [ -n "$number" ]; then
  gh issue comment "$number" --body-file drift-issue.md
else
  gh issue create --title "$title" --label "$label" --body-file drift-issue.md
fi
exit 1

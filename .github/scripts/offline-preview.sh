#!/usr/bin/env bash
# Offline plan of every stack at HEAD and its diff against BASE_SHA, with no
# cloud credentials (runs for pull requests from forks too). Writes OUT/ and
# the job summary. The stacks are the Pulumi.<stack>.yaml files at HEAD.
set -euo pipefail
out=${OUT:-plan-out}
summary=${GITHUB_STEP_SUMMARY:-/dev/stdout}
root=$(pwd)
py="$root/.venv/bin/python"

make deps
mapfile -t stacks < <("$py" -m stacktools.matrix | "$py" -c 'import json, sys; print("\n".join(json.load(sys.stdin)))')
mkdir -p "$out"
out=$(cd "$out" && pwd)
for stack in "${stacks[@]}"; do
  "$py" -m stacktools.plan --stack "$stack" --out "$out/head/$stack" > "$out/$stack-tree.txt"
done

# The base commit's own plan command: stacktools.plan, or infra.plan before the tooling moved.
base_ok=false
if [ -n "${BASE_SHA:-}" ] && git cat-file -e "${BASE_SHA}^{commit}" 2> /dev/null; then
  base_dir=$(mktemp -d)
  git worktree add --detach "$base_dir" "$BASE_SHA" > /dev/null
  module=""
  [ -f "$base_dir/infra/plan.py" ] && module=infra.plan
  [ -f "$base_dir/stacktools/plan.py" ] && module=stacktools.plan
  if [ -n "$module" ]; then
    base_ok=true
    for stack in "${stacks[@]}"; do
      if [ -f "$base_dir/Pulumi.$stack.yaml" ]; then
        (cd "$base_dir" && PYTHONPATH="$base_dir" "$py" -m "$module" --stack "$stack" --out "$out/base/$stack" > /dev/null) || base_ok=false
      fi
    done
  fi
  git worktree remove --force "$base_dir"
fi

{
  echo "## Offline plan (no cloud credentials)"
  for stack in "${stacks[@]}"; do
    echo
    echo "### ${stack}"
    if $base_ok && [ -d "$out/base/$stack" ]; then
      set +e
      "$py" -m stacktools.plan --stack "$stack" --diff "$out/base/$stack" > "$out/$stack-diff.txt"
      status=$?
      set -e
      if [ "$status" -eq 2 ]; then
        echo "diff failed, see the artifact"
      fi
      echo '```diff'
      cat "$out/$stack-diff.txt"
      echo '```'
    elif $base_ok; then
      echo "_A new stack: every resource is created._"
    else
      echo "_No plan of the base commit to diff against._"
    fi
    echo "<details><summary>resource tree</summary>"
    echo
    echo '```'
    cat "$out/$stack-tree.txt"
    echo '```'
    echo "</details>"
  done
} >> "$summary"

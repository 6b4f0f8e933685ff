#!/usr/bin/env bash
# Offline plan of both stacks at HEAD and its diff against BASE_SHA, with no
# cloud credentials (runs for pull requests from forks too). Writes OUT/ and
# the job summary.
set -euo pipefail
out=${OUT:-plan-out}
summary=${GITHUB_STEP_SUMMARY:-/dev/stdout}
root=$(pwd)
py="$root/.venv/bin/python"
stacks=(staging production)

make deps
mkdir -p "$out"
for stack in "${stacks[@]}"; do
  "$py" -m infra.plan --stack "$stack" --out "$out/head/$stack" > "$out/$stack-tree.txt"
done

base_ok=false
if [ -n "${BASE_SHA:-}" ] && git cat-file -e "${BASE_SHA}^{commit}" 2> /dev/null; then
  base_dir=$(mktemp -d)
  git worktree add --detach "$base_dir" "$BASE_SHA" > /dev/null
  if [ -f "$base_dir/infra/plan.py" ]; then
    base_ok=true
    for stack in "${stacks[@]}"; do
      (cd "$base_dir" && "$py" -m infra.plan --stack "$stack" --out "$root/$out/base/$stack" > /dev/null) || base_ok=false
    done
  fi
  git worktree remove --force "$base_dir"
fi

{
  echo "## Offline plan (no cloud credentials)"
  for stack in "${stacks[@]}"; do
    echo
    echo "### ${stack}"
    if $base_ok; then
      set +e
      "$py" -m infra.plan --stack "$stack" --diff "$out/base/$stack" > "$out/$stack-diff.txt"
      status=$?
      set -e
      if [ "$status" -eq 2 ]; then
        echo "diff failed, see the artifact"
      fi
      echo '```diff'
      cat "$out/$stack-diff.txt"
      echo '```'
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

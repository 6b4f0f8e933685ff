#!/usr/bin/env bash
# Give the job a kubeconfig context named exactly as the stack's kubeContext, so
# the stack's explicit Kubernetes provider finds it (and nothing else).
# A stack with several clusters (clusters) prints one context per line, home
# first: the home cluster is found as always (vars.EKS_CLUSTER_NAME or
# vars.GKE_CLUSTER_*); every other cluster by its context name, which must then
# name the cluster: an EKS cluster ARN (as `aws eks update-kubeconfig` names it)
# or gcloud's gke_<project>_<location>_<cluster>.
set -euo pipefail
: "${STACK:?}"
contexts=$(.venv/bin/python -m stacktools.plan --print-kube-context --stack "$STACK")
context=$(printf '%s\n' "$contexts" | head -n 1)

if [ -n "${EKS_CLUSTER_NAME:-}" ]; then
  aws eks update-kubeconfig --name "$EKS_CLUSTER_NAME" --region "${AWS_REGION:?}" --alias "$context"
elif [ -n "${GKE_CLUSTER_NAME:-}" ]; then
  gcloud container clusters get-credentials "$GKE_CLUSTER_NAME" \
    --location "${GKE_CLUSTER_LOCATION:?}" --project "${GKE_CLUSTER_PROJECT:?}"
  kubectl config rename-context "$(kubectl config current-context)" "$context"
else
  echo "set vars.EKS_CLUSTER_NAME or vars.GKE_CLUSTER_NAME for ${STACK}" >&2
  exit 1
fi

eks='^arn:aws[a-z-]*:eks:([a-z0-9-]+):[0-9]{12}:cluster/([A-Za-z0-9][A-Za-z0-9_-]*)$'
gke='^gke_([a-z][a-z0-9-]+)_([a-z]+-[a-z]+[0-9]+(-[a-z])?)_([a-z][-a-z0-9]*)$'
printf '%s\n' "$contexts" | tail -n +2 | while IFS= read -r other; do
  if [[ "$other" =~ $eks ]]; then
    aws eks update-kubeconfig --name "${BASH_REMATCH[2]}" --region "${BASH_REMATCH[1]}" --alias "$other"
  elif [[ "$other" =~ $gke ]]; then
    # gcloud names the context exactly so.
    gcloud container clusters get-credentials "${BASH_REMATCH[4]}" \
      --location "${BASH_REMATCH[2]}" --project "${BASH_REMATCH[1]}"
  else
    echo "${STACK}: cluster context ${other} names no cluster CI can find (allowed: an EKS cluster ARN or gke_<project>_<location>_<cluster>)" >&2
    exit 1
  fi
done

#!/usr/bin/env bash
# Give the job a kubeconfig context named exactly as the stack's kubeContext, so
# the stack's explicit Kubernetes provider finds it (and nothing else).
set -euo pipefail
: "${STACK:?}"
context=$(.venv/bin/python -m stacktools.plan --print-kube-context --stack "$STACK")

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

#!/usr/bin/env bash
# Exchange this job's GitHub OIDC token for a short-lived Vault token (JWT auth
# method), so no Vault credential is ever stored in GitHub. The Vault role
# (vars.VAULT_JWT_ROLE) binds the token's repository and environment claims.
set -euo pipefail
: "${VAULT_ADDR:?vars.VAULT_ADDR is not set}"
: "${VAULT_ROLE:?vars.VAULT_JWT_ROLE is not set}"
: "${ACTIONS_ID_TOKEN_REQUEST_URL:?the job needs permissions: id-token: write}"

jwt=$(curl -sSf -H "Authorization: bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}" \
  "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=vault" | jq -r .value)
token=$(jq -n --arg role "$VAULT_ROLE" --arg jwt "$jwt" '{role: $role, jwt: $jwt}' \
  | curl -sSf -X POST --data @- "${VAULT_ADDR}/v1/auth/${VAULT_JWT_MOUNT:-jwt}/login" \
  | jq -r .auth.client_token)
if [ -z "$token" ] || [ "$token" = "null" ]; then
  echo "Vault JWT login returned no token (role ${VAULT_ROLE})" >&2
  exit 1
fi
echo "::add-mask::${token}"
echo "VAULT_TOKEN=${token}" >> "$GITHUB_ENV"

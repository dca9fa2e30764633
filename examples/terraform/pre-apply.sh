#!/usr/bin/env bash
# Pre-apply hook: plan, check the plan against licence entitlements, and apply
# that exact plan only when entitlegate allows it.
#
#   ./pre-apply.sh                      # plan, check, apply
#   ./pre-apply.sh -var app_nodes=4     # extra arguments go to `terraform plan`
#
# Exit codes: 0 applied; 1 blocked by entitlegate (nothing applied); 2 bad
# input, config or usage (nothing applied); anything else is Terraform's own.
#
# Environment:
#   TERRAFORM         terraform binary (default: terraform)
#   ENTITLEGATE       entitlegate command (default: entitlegate; e.g. "npx entitlegate@0.1.0")
#   EG_CONFIG         config file (default: entitlegate.yaml next to this script)
#   EG_USAGE          usage snapshot (default: usage.yaml next to this script)
#   EG_ENVIRONMENT    scope of this deployment (default: prod)
#   EG_ARGS           more arguments for `entitlegate check` (e.g. --mode warn, --account 1234)
#   APPLY             set to 0 to stop after the check (CI plan jobs)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

TERRAFORM="${TERRAFORM:-terraform}"
ENTITLEGATE="${ENTITLEGATE:-entitlegate}"
EG_CONFIG="${EG_CONFIG:-$here/entitlegate.yaml}"
EG_USAGE="${EG_USAGE:-$here/usage.yaml}"
EG_ENVIRONMENT="${EG_ENVIRONMENT:-prod}"
EG_ARGS="${EG_ARGS:-}"
APPLY="${APPLY:-1}"

"$TERRAFORM" init -input=false
"$TERRAFORM" plan -input=false -out=tfplan "$@"
"$TERRAFORM" show -json tfplan > plan.json

# ENTITLEGATE and EG_ARGS may hold several words ("npx entitlegate@0.1.0"): split on purpose.
set +e
# shellcheck disable=SC2086
$ENTITLEGATE check plan.json --config "$EG_CONFIG" --usage "$EG_USAGE" --environment "$EG_ENVIRONMENT" $EG_ARGS
status=$?
set -e

case "$status" in
  0) ;;
  1) echo "entitlegate: the plan exceeds licence entitlements; not applying." >&2; exit 1 ;;
  2) echo "entitlegate: could not check the plan (bad plan, config or usage); not applying." >&2; exit 2 ;;
  *) echo "entitlegate: failed with exit code $status; not applying." >&2; exit "$status" ;;
esac

if [ "$APPLY" = "0" ]; then
  echo "entitlegate: plan allowed; APPLY=0, so not applying." >&2
  exit 0
fi

# Applies the saved plan: exactly what was checked, nothing re-planned.
"$TERRAFORM" apply -input=false tfplan

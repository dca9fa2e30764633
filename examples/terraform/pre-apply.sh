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
#   EG_LEDGER         decide at this ledger (docs/ledger.md) instead of EG_CONFIG and
#                     EG_USAGE: the plan is reserved before apply as the resources of
#                     source EG_SOURCE, and the state after apply is reported as that
#                     source, which settles the reservation (token: $ENTITLEGATE_TOKEN).
#                     A failed apply releases the reservation.
#   EG_SOURCE         the ledger source of this workspace: its plan's and its state's
#                     resources are EG_SOURCE/ADDRESS, so two workspaces with the same
#                     addresses count apart (default: terraform:<folder>-<workspace>)
#   EG_TTL            how long the reservation holds before apply confirms it (default: 1h)
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

EG_LEDGER="${EG_LEDGER:-}"
if [ -n "$EG_LEDGER" ]; then
  EG_SOURCE="${EG_SOURCE:-terraform:$(basename "$here")-$("$TERRAFORM" workspace show)}"
fi
# ENTITLEGATE and EG_ARGS may hold several words ("npx entitlegate@0.1.0"): split on purpose.
set +e
if [ -n "$EG_LEDGER" ]; then
  # The ledger decides with every source's usage and reservations, and holds what it allows.
  # shellcheck disable=SC2086
  $ENTITLEGATE check plan.json --ledger "$EG_LEDGER" --source "$EG_SOURCE" --environment "$EG_ENVIRONMENT" $EG_ARGS \
    --reserve --ttl "${EG_TTL:-1h}" --format json --output decision.json
else
  # shellcheck disable=SC2086
  $ENTITLEGATE check plan.json --config "$EG_CONFIG" --usage "$EG_USAGE" --environment "$EG_ENVIRONMENT" $EG_ARGS
fi
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

reservation=""
if [ -n "$EG_LEDGER" ]; then
  if command -v jq > /dev/null; then
    reservation="$(jq -r '.reservation.id // empty' decision.json)"
  else
    reservation="$(node -e 'const d = JSON.parse(require("fs").readFileSync("decision.json", "utf8")); process.stdout.write(d.reservation ? d.reservation.id : "")')"
  fi
fi

# Applies the saved plan: exactly what was checked, nothing re-planned.
if ! "$TERRAFORM" apply -input=false tfplan; then
  if [ -n "$reservation" ]; then
    # shellcheck disable=SC2086
    $ENTITLEGATE ledger release "$reservation" --ledger "$EG_LEDGER" || true
  fi
  exit 1
fi

if [ -n "$EG_LEDGER" ]; then
  # What is deployed now, as EG_SOURCE/ADDRESS: the report settles the plan's reservation.
  "$TERRAFORM" show -json > state.json
  # shellcheck disable=SC2086
  $ENTITLEGATE ledger usage put --ledger "$EG_LEDGER" --source "$EG_SOURCE" --environment "$EG_ENVIRONMENT" state.json
fi

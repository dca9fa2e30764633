#!/usr/bin/env bash
# Builds the OPA compiler and Regal from the Go module proxy; prints their bin dirs.
. "$(dirname "$0")/lib.sh"
opa=$(go_tool opa github.com/open-policy-agent/opa "$OPA_VERSION")
regal=$(go_tool regal github.com/open-policy-agent/regal "$REGAL_VERSION")
echo "$(dirname "$opa")"
echo "$(dirname "$regal")"

#!/usr/bin/env bash
# Builds the OPA compiler and Regal from the Go module proxy; prints the bin
# directory of each, one per line.
. "$(dirname "$0")/lib.sh"
opa=$(go_tool opa github.com/open-policy-agent/opa "$OPA_VERSION")
regal=$(go_wrapped regal regal github.com/open-policy-agent/regal "$REGAL_VERSION")
dirname "$opa"
dirname "$regal"

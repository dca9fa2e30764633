#!/usr/bin/env bash
# Builds conftest $CONFTEST_VERSION from the Go module proxy into the cache
# outside the clone; prints the binary path. Idempotent.
. "$(dirname "$0")/lib.sh"
ct=$(go_tool conftest github.com/open-policy-agent/conftest "$CONFTEST_VERSION")
"$ct" --version >/dev/null 2>&1 || { echo "built $ct but it does not run" >&2; exit 1; }
echo "$ct"

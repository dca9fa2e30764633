#!/usr/bin/env bash
# Builds promtool (github.com/prometheus/prometheus) $PROMTOOL_VERSION from the
# Go module proxy into the cache outside the clone; prints the binary path.
# The metrics test checks a scrape of /metrics with `promtool check metrics`.
. "$(dirname "$0")/lib.sh"
pt=$(go_tool promtool github.com/prometheus/prometheus/cmd/promtool "$PROMTOOL_VERSION")
"$pt" --version >/dev/null 2>&1 || { echo "built $pt but it does not run" >&2; exit 1; }
echo "$pt"

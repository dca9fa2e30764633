#!/usr/bin/env bash
# Builds Helm $HELM_VERSION from the Go module proxy into the cache outside the
# clone; prints the binary path. Idempotent.
. "$(dirname "$0")/lib.sh"
major=${HELM_VERSION%%.*}
helm=$(go_tool helm "helm.sh/helm/$major/cmd/helm" "$HELM_VERSION")
"$helm" version >/dev/null 2>&1 || { echo "built $helm but it does not run" >&2; exit 1; }
echo "$helm"

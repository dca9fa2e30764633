# Shared helpers for the installers: sourced, not run.
set -euo pipefail
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$SCRIPTS_DIR/versions.env"
EG_CACHE="${EG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/entitlegate}"
mkdir -p "$EG_CACHE"

# go_tool NAME MODULE VERSION [extra go env...]: installs MODULE@VERSION into
# $EG_CACHE/go/NAME-VERSION/bin once, prints the binary path.
go_tool() {
  local name=$1 module=$2 version=$3
  shift 3
  local dir="$EG_CACHE/go/$name-$version"
  if [ ! -x "$dir/bin/$name" ]; then
    echo "installing $module@$version into $dir" >&2
    mkdir -p "$dir"
    env CGO_ENABLED=0 GOBIN="$dir/bin" GOFLAGS=-mod=mod "$@" go install "$module@$version" >&2
  fi
  echo "$dir/bin/$name"
}

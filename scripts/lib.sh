# Shared helpers for the installers: sourced, not run.
set -euo pipefail
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$SCRIPTS_DIR/versions.env"
EG_CACHE="${EG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/entitlegate}"
mkdir -p "$EG_CACHE"

# go_tool NAME MODULE VERSION [env...]: installs MODULE@VERSION into
# $EG_CACHE/go/NAME-VERSION/bin once; prints the binary's path.
go_tool() {
  local name=$1 module=$2 version=$3
  shift 3
  local dir="$EG_CACHE/go/$name-$version"
  if [ ! -x "$dir/bin/$name" ]; then
    echo "installing $module@$version into $dir" >&2
    mkdir -p "$dir"
    env CGO_ENABLED=0 GOBIN="$dir/bin" "$@" go install "$module@$version" >&2 || { echo "failed to build $module@$version" >&2; return 1; }
  fi
  echo "$dir/bin/$name"
}

# go_wrapped NAME WRAPPER_DIR PACKAGE VERSION: builds PACKAGE from the wrapper
# module in scripts/tools/WRAPPER_DIR (its go.mod and go.sum pin every module).
go_wrapped() {
  local name=$1 wrapper=$2 package=$3 version=$4
  local dir="$EG_CACHE/go/$name-$version"
  if [ ! -x "$dir/bin/$name" ]; then
    echo "building $package@$version into $dir" >&2
    mkdir -p "$dir/bin"
    (cd "$SCRIPTS_DIR/tools/$wrapper" && CGO_ENABLED=0 go build -o "$dir/bin/$name" "$package") >&2 || { echo "failed to build $package" >&2; return 1; }
  fi
  echo "$dir/bin/$name"
}

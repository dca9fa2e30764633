#!/usr/bin/env bash
# Installs Node $NODE_VERSION from the npm registry (the `node` package ships the
# official binary) into the cache and prints its bin directory.
. "$(dirname "$0")/lib.sh"
dir="$EG_CACHE/node-$NODE_VERSION"
if [ ! -x "$dir/bin/node" ]; then
  echo "installing node@$NODE_VERSION into $dir" >&2
  npm i -g --silent --prefix "$dir" "node@$NODE_VERSION" >&2
fi
echo "$dir/bin"

#!/usr/bin/env bash
# Makes Debian's Chromium available for the dashboard's browser tests
# (playwright-core drives it; it downloads no browser of its own) and prints
# its path. Not pinned in versions.env: Debian keeps one Chromium, its latest
# security release, so an older pin could not be installed. Idempotent.
set -euo pipefail
bin=/usr/bin/chromium
if [ ! -x "$bin" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Chromium is not installed and installing it needs root: apt-get install chromium" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq chromium >&2
fi
"$bin" --version >&2
echo "$bin"

#!/usr/bin/env bash
# Makes PostgreSQL $POSTGRES_VERSION's server binaries available for the
# ledger's tests (they start a private cluster with initdb and pg_ctl in a temp
# folder, as a non-root user) and prints their folder. From Debian's packages
# (`postgresql`), the one source this machine reaches; nothing is started here.
# Idempotent: when installed, only prints the folder.
set -euo pipefail
. "$(dirname "$0")/versions.env"
bin=/usr/lib/postgresql/$POSTGRES_VERSION/bin
if [ ! -x "$bin/initdb" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL $POSTGRES_VERSION is not installed and installing it needs root: apt-get install postgresql-$POSTGRES_VERSION" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # Debian starts a cluster of its own on install; the tests do not use it.
  apt-get install -y -qq "postgresql-$POSTGRES_VERSION" >&2
  if command -v pg_ctlcluster >/dev/null; then pg_ctlcluster "$POSTGRES_VERSION" main stop >/dev/null 2>&1 || true; fi
fi
# The tests run the server as this user when they run as root (PostgreSQL refuses root).
id -u postgres >/dev/null 2>&1 || { echo "the postgres user is missing (the package creates it)" >&2; exit 1; }
"$bin/initdb" --version >&2
echo "$bin"

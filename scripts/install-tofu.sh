#!/usr/bin/env bash
# Builds OpenTofu $TOFU_VERSION from the Go module proxy through the wrapper
# module in scripts/tools/tofu (it repeats OpenTofu's `replace` of
# github.com/hashicorp/hcl/v2, which `go install` would not apply) into the
# cache outside the clone; prints the binary path. Idempotent.
# version.dev=no is what OpenTofu's release build sets: without it the binary
# calls itself "1.12.6-dev" (in `tofu version` and in every plan JSON).
. "$(dirname "$0")/lib.sh"
grep -q "github.com/opentofu/opentofu $TOFU_VERSION\$" "$SCRIPTS_DIR/tools/tofu/go.mod" ||
  { echo "scripts/tools/tofu/go.mod does not pin OpenTofu $TOFU_VERSION (scripts/versions.env)" >&2; exit 1; }
dir="$EG_CACHE/go/tofu-$TOFU_VERSION"
tofu="$dir/bin/tofu"
if [ ! -x "$tofu" ]; then
  echo "building github.com/opentofu/opentofu/cmd/tofu@$TOFU_VERSION into $dir" >&2
  mkdir -p "$dir/bin"
  (cd "$SCRIPTS_DIR/tools/tofu" && CGO_ENABLED=0 go build -ldflags "-X github.com/opentofu/opentofu/version.dev=no" \
    -o "$tofu" github.com/opentofu/opentofu/cmd/tofu) >&2 || { echo "failed to build OpenTofu $TOFU_VERSION" >&2; exit 1; }
fi
TF_CLI_CONFIG_FILE=/dev/null "$tofu" version >/dev/null 2>&1 || { echo "built $tofu but it does not run" >&2; exit 1; }
echo "$tofu"

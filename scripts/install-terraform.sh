#!/usr/bin/env bash
# Builds Terraform $TERRAFORM_VERSION (v1.5.7, the last MPL-2.0 release) from the
# Go module proxy into the cache outside the clone; prints the binary path.
# Idempotent: a second run only prints the path.
#
# Pinned recipe: the machine's Go (1.26.x) builds v1.5.7 as is, CGO off, in
# about three minutes on two cores. Its 2023 dependencies are the risk with a
# newer Go; the known ways out are tried in order if the plain build fails:
# -ldflags=-checklinkname=0 (Go 1.23+ restricts go:linkname), then an older
# toolchain fetched through the proxy (GOTOOLCHAIN).
. "$(dirname "$0")/lib.sh"
module=github.com/hashicorp/terraform
fallback_toolchain=go1.21.13
tf=$(go_tool terraform "$module" "$TERRAFORM_VERSION") ||
  tf=$(go_tool terraform "$module" "$TERRAFORM_VERSION" GOFLAGS="-mod=mod -ldflags=-checklinkname=0") ||
  tf=$(go_tool terraform "$module" "$TERRAFORM_VERSION" GOTOOLCHAIN="$fallback_toolchain")
CHECKPOINT_DISABLE=1 "$tf" version >/dev/null 2>&1 || { echo "built $tf but it does not run" >&2; exit 1; }
echo "$tf"

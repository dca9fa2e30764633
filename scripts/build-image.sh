#!/usr/bin/env bash
# Builds the container image (deploy/Containerfile) with podman and prints its
# name. The image holds the single executable only (scripts/build-binary.ts).
#
#   scripts/build-image.sh [--binary PATH] [--base IMAGE] [--tag NAME]
#
# Without --base (CI, no registry reachable) the base is made here from Debian
# packages: mmdebstrap extracts libc6, libstdc++6 (with libgcc-s1) and
# ca-certificates of $IMAGE_BASE_SUITE, adds the nonroot user 65532, and the
# tarball is cached under $EG_CACHE/image-base and imported into podman once.
# Podman runs with runc (crun refuses this kernel's hybrid cgroups) and the
# ulimits below, through a containers.conf of our own (CONTAINERS_CONF).
. "$(dirname "$0")/lib.sh"
root="$(cd "$SCRIPTS_DIR/.." && pwd)"
binary="" base="" tag=""
while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    *) echo "usage: $0 [--binary PATH] [--base IMAGE] [--tag NAME]" >&2; exit 2 ;;
  esac
done
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$root/package.json")
tag=${tag:-localhost/entitlegate:$version}

missing=()
needed=(podman runc)
[ -n "$base" ] || needed+=(mmdebstrap)
for tool in "${needed[@]}"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "needs ${missing[*]} (apt-get install -y ${missing[*]})" >&2; exit 1; }
  echo "installing ${missing[*]}" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2
fi
. "$SCRIPTS_DIR/podman-env.sh"

if [ -z "$base" ]; then
  packages="libc6,libstdc++6,libgcc-s1,ca-certificates"
  key=$(printf '%s %s v1' "$IMAGE_BASE_SUITE" "$packages" | sha256sum | cut -c1-12)
  base="localhost/entitlegate-base:$IMAGE_BASE_SUITE-$key"
  tarball="$EG_CACHE/image-base/$IMAGE_BASE_SUITE-$key.tar"
  if [ ! -f "$tarball" ]; then
    echo "making the base image from Debian $IMAGE_BASE_SUITE: $packages" >&2
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    mmdebstrap --quiet --variant=extract --include="$packages" "$IMAGE_BASE_SUITE" "$rootfs/fs" >&2
    rm -rf "$rootfs/fs"/usr/share/{doc,man,info,lintian} "$rootfs/fs"/var/cache/apt "$rootfs/fs"/var/lib/apt
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/fs/etc/passwd"
    printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/fs/etc/group"
    install -d -o 65532 -g 65532 -m 0700 "$rootfs/fs/home/nonroot"
    mkdir -p "$(dirname "$tarball")"
    tar --numeric-owner -C "$rootfs/fs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  fi
  podman image exists "$base" || podman import --quiet "$tarball" "$base" >/dev/null
fi

if [ -z "$binary" ]; then
  binary="$root/dist/sea/entitlegate-linux-x64"
  [ -x "$binary" ] || node "$root/scripts/build-binary.ts" >&2
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx" ${rootfs:+"$rootfs"}' EXIT
cp "$binary" "$ctx/entitlegate"
# Unpacks the policy files where the image's XDG_CACHE_HOME points (any command does).
mkdir -m 0700 "$ctx/cache"
XDG_CACHE_HOME="$ctx/cache" "$ctx/entitlegate" validate --config "$root/examples/entitlegate.yaml" >/dev/null
previous=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
podman build --quiet --build-arg "BASE=$base" --build-arg "VERSION=$version" -f "$root/deploy/Containerfile" -t "$tag" "$ctx" >/dev/null
# the image this tag named before, now untagged: removed, so rebuilds leave nothing behind
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$tag")" ]; then podman rmi "$previous" >/dev/null 2>&1 || true; fi
echo "$tag"

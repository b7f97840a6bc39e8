#!/usr/bin/env bash
# Make sure the local base image for the Docker bake exists.
#
#   scripts/base-image.sh [NAME]      NAME defaults to bakery-base:bookworm
#
# No container registry is reachable here, so the image is built from Debian's
# own packages: a minimal Debian 12 rootfs made by debootstrap, imported with
# `docker import`. Does nothing when the image already exists.
set -euo pipefail

name="${1:-bakery-base:bookworm}"
suite="bookworm"
mirror="${BAKERY_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$name" >/dev/null 2>&1; then
  echo "base-image: $name already exists"
  exit 0
fi

for tool in debootstrap docker tar; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "base-image: $tool is required (apt-get install debootstrap docker.io)" >&2
    exit 1
  fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/bakery-base.XXXXXX")"
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT
rootfs="$work/rootfs"

echo "base-image: debootstrap --variant=minbase $suite from $mirror"
if ! debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 20 "$work/debootstrap.log" >&2
  exit 1
fi

echo "base-image: importing the rootfs as $name"
tar --numeric-owner -C "$rootfs" -c . | docker import - "$name" >/dev/null
echo "base-image: $name created"

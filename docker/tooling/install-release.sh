#!/bin/sh
# Installs one HashiCorp binary from its official release archive, verified against a
# pinned SHA256 sum. A missing, malformed or wrong sum stops the image build.
#
# usage: install-release.sh PRODUCT VERSION SHA256_AMD64 SHA256_ARM64 DEST_DIR
# env:   HASHICORP_RELEASES  base URL (default https://releases.hashicorp.com; a mirror
#                            must serve the same archives, so the same sums apply)
set -eu

product=${1:?product}
version=${2:?version}
sum_amd64=${3?sha256 for amd64}
sum_arm64=${4?sha256 for arm64}
dest=${5:?destination directory}
base=${HASHICORP_RELEASES:-https://releases.hashicorp.com}

arch=${BAKERY_ARCH:-$(dpkg --print-architecture)}
case "$arch" in
  amd64) expected=$sum_amd64 ;;
  arm64) expected=$sum_arm64 ;;
  *) echo "install-release: no pinned ${product} sum for architecture ${arch} (amd64, arm64)" >&2; exit 1 ;;
esac

archive="${product}_${version}_linux_${arch}.zip"
if ! printf '%s' "$expected" | grep -Eq '^[0-9a-f]{64}$'; then
  echo "install-release: the pinned SHA256 of ${archive} is not a sum: '${expected}'" >&2
  echo "  fill it from ${base}/${product}/${version}/${product}_${version}_SHA256SUMS (see docker/README.md)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# https only (file:// is for the tests' local fixture), and never downgraded by a redirect.
curl --fail --silent --show-error --location --proto '=https,file' --proto-redir '=https' \
  --retry 3 --output "$work/$archive" "$base/$product/$version/$archive"

actual=$(sha256sum "$work/$archive" | cut -d ' ' -f 1)
if [ "$actual" != "$expected" ]; then
  echo "install-release: SHA256 mismatch for ${archive}" >&2
  echo "  expected ${expected} (pinned in docker/tooling/Dockerfile)" >&2
  echo "  actual   ${actual}" >&2
  exit 1
fi

unzip -q -o "$work/$archive" "$product" -d "$work/out"
install -D -m 0755 "$work/out/$product" "$dest/$product"
echo "install-release: ${product} ${version} (${arch}) verified and installed in ${dest}"

#!/usr/bin/env bash
# Sets up what bakery needs on a Debian 12 machine, idempotently: the tools from
# Debian's packages, a running Docker engine, the npm dependencies and the Debian 12
# base image. Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE="${BAKERY_BASE_IMAGE:-bakery-base:bookworm}"
PACKAGES=(
  docker.io packer ansible ansible-lint yamllint debootstrap iproute2 git ca-certificates curl unzip
  python3-flask python3-waitress python3-pytest
)

say() { printf 'setup: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if command -v systemctl >/dev/null 2>&1 && systemctl list-unit-files docker.service >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    say "starting the Docker engine (systemctl)"
    as_root systemctl start docker
  else
    say "starting the Docker engine (dockerd in the background, log in /tmp/dockerd.log)"
    as_root sh -c 'nohup dockerd >/tmp/dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { say "the Docker engine did not start: see /tmp/dockerd.log"; exit 1; }
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

bash scripts/base-image.sh "$BASE_IMAGE"
say "ready"

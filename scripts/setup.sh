#!/usr/bin/env bash
# Sets up what bakery needs on a Debian 12 machine, idempotently: the tools from
# Debian's packages, a running Docker engine, the npm dependencies, Terraform's CLI
# configuration for the local provider mirror and the Debian 12 base image. Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE="${BAKERY_BASE_IMAGE:-bakery-base:bookworm}"
PACKAGES=(
  docker.io packer ansible ansible-lint yamllint debootstrap iproute2 git ca-certificates curl unzip
  python3-flask python3-waitress python3-pytest
  # Debian's pip resolves an app's requirements into wheels for the image's Python (3.11).
  python3-pip
  # The VM bake (packer qemu.app) and its base disk (scripts/vm-base-image.sh).
  qemu-system-x86 qemu-utils parted openssh-client
  # moto's server, the AWS emulator the IAM-enforced e2e test runs (test/support/moto.ts).
  python3-venv python3-werkzeug python3-flask-cors python3-xmltodict python3-responses
  python3-jinja2 python3-cryptography python3-dateutil python3-yaml python3-requests
  python3-boto3 python3-jmespath python3-urllib3
)

say() { printf 'setup: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }
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
# The compiled runner (dist/): bakery starts from it, and from the sources only when they
# changed since (bin/bakery.js).
say "compiling the runner (npm run build)"
npm run build --silent

# Terraform's providers from a filesystem mirror (the machine image ships hashicorp/aws
# there; nothing is downloaded): a CLI configuration that installs registry.terraform.io
# providers from the mirror only, at the place scripts/test-terraform.sh reads it from.
# BAKERY_TF_PLUGIN_MIRROR names the mirror (the directory holding registry.terraform.io).
TF_CLI_CONFIG="${XDG_CONFIG_HOME:-$HOME/.config}/bakery/terraform.tfrc"
find_tf_mirror() {
  local found
  if [ -n "${BAKERY_TF_PLUGIN_MIRROR:-}" ]; then
    [ -d "$BAKERY_TF_PLUGIN_MIRROR/registry.terraform.io/hashicorp/aws" ] && printf '%s\n' "$BAKERY_TF_PLUGIN_MIRROR"
    return 0
  fi
  # The usual places first; then the whole machine, skipping Terraform working
  # directories (their .terraform/providers is a cache, not a mirror).
  for candidate in /opt/tf-plugins /usr/local/share/terraform/plugins /usr/share/terraform/plugins "$HOME/.terraform.d/plugins"; do
    if [ -d "$candidate/registry.terraform.io/hashicorp/aws" ]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  found="$(find / -xdev \( -path /proc -o -path '*/.terraform' -o -path '*/node_modules' \) -prune -o -type d -path '*/registry.terraform.io/hashicorp/aws' -print 2>/dev/null | head -n 1)"
  # .../MIRROR/registry.terraform.io/hashicorp/aws → MIRROR
  [ -n "$found" ] && dirname "$(dirname "$(dirname "$found")")"
  return 0
}
tf_mirror="$(find_tf_mirror)"
if [ -n "$tf_mirror" ]; then
  mkdir -p "$(dirname "$TF_CLI_CONFIG")"
  cat >"$TF_CLI_CONFIG.tmp" <<TFRC
# Written by bakery's scripts/setup.sh: registry.terraform.io providers come from the
# local mirror only (no downloads); other registries as usual.
provider_installation {
  filesystem_mirror {
    path    = "$tf_mirror"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
TFRC
  mv "$TF_CLI_CONFIG.tmp" "$TF_CLI_CONFIG"
  say "Terraform providers from $tf_mirror (CLI configuration $TF_CLI_CONFIG)"
else
  say "no Terraform provider mirror with hashicorp/aws found (set BAKERY_TF_PLUGIN_MIRROR to the directory holding registry.terraform.io): npm run test:terraform will fail"
fi

# moto 5.2.2 in a virtualenv over Debian's packages (the AWS emulator of the IAM-enforced
# e2e tests). PyPI's mirror here has botocore but not moto, so moto's wheel is vendored
# (vendor/wheels, see its README); BAKERY_MOTO_WHEELS or ../shared/wheels, when present,
# hold both wheels and need no index at all. moto 5.2.2 needs a botocore newer than Debian 12's.
MOTO_VENV="${BAKERY_MOTO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/bakery/moto-venv}"
if ! "$MOTO_VENV/bin/python" -c 'import moto.server' 2>/dev/null; then
  say "installing moto 5.2.2 in $MOTO_VENV"
  /usr/bin/python3 -m venv --system-site-packages "$MOTO_VENV"
  wheels=""
  for candidate in "${BAKERY_MOTO_WHEELS:-}" ../shared/wheels vendor/wheels; do
    if [ -n "$candidate" ] && ls "$candidate"/moto-5.2.2-*.whl >/dev/null 2>&1; then
      wheels="$candidate"
      break
    fi
  done
  if [ -z "$wheels" ]; then
    "$MOTO_VENV/bin/pip" install -q "moto[server]==5.2.2"
  elif ls "$wheels"/botocore-*.whl >/dev/null 2>&1; then
    "$MOTO_VENV/bin/pip" install -q --no-deps --no-index --find-links "$wheels" moto==5.2.2 botocore==1.43.67
  else
    "$MOTO_VENV/bin/pip" install -q --no-deps --find-links "$wheels" moto==5.2.2 'botocore>=1.43.67,<1.44'
  fi
  "$MOTO_VENV/bin/python" -c 'import moto.server' ||
    fail "moto did not install into $MOTO_VENV: the IAM-enforced e2e tests need it (see vendor/wheels/README.md)"
fi

bash scripts/base-image.sh "$BASE_IMAGE"
say "ready"

#!/usr/bin/env bash
# npm run test:terraform: the Terraform stack checked by Terraform itself, offline:
#   terraform fmt -check -recursive terraform/
#   terraform init -backend=false + validate, and terraform test (tests/*.tftest.hcl,
#   mocked AWS provider), on a scratch copy so terraform/ gets no .terraform/ or lock file
# The aws provider comes from the filesystem mirror that scripts/setup.sh found and wrote
# into a CLI configuration. Missing Terraform or provider is a failure, never a skip; so is
# any warning (a provider warning today is an error in its next major release).
set -euo pipefail
cd "$(dirname "$0")/.."

# Where scripts/setup.sh writes the CLI configuration; keep the two in step.
BAKERY_TF_CLI_CONFIG="${XDG_CONFIG_HOME:-$HOME/.config}/bakery/terraform.tfrc"

say() { printf 'test:terraform: %s\n' "$*" >&2; }
fail() {
  say "$*"
  exit 1
}

command -v terraform >/dev/null 2>&1 ||
  fail "terraform is not on PATH: install Terraform 1.11 or newer (the tooling image in docker/tooling has it), then run: bash scripts/setup.sh"

# An explicit TF_CLI_CONFIG_FILE wins when it names a file; one that names nothing would
# leave Terraform downloading from the registry, so bakery's own configuration is used.
if [ -z "${TF_CLI_CONFIG_FILE:-}" ] || [ ! -f "$TF_CLI_CONFIG_FILE" ]; then
  [ -f "$BAKERY_TF_CLI_CONFIG" ] ||
    fail "no Terraform CLI configuration at $BAKERY_TF_CLI_CONFIG (it points Terraform at the local hashicorp/aws provider mirror): run: bash scripts/setup.sh"
  export TF_CLI_CONFIG_FILE="$BAKERY_TF_CLI_CONFIG"
fi
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0

scratch="$(mktemp -d "${TMPDIR:-/tmp}/bakery-terraform-test.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
log="$scratch/output.log"

# Runs one terraform command, keeping its output for the warning check below.
step() {
  say "terraform $*"
  terraform "$@" 2>&1 | tee -a "$log"
}

step fmt -check -recursive -diff terraform ||
  fail "terraform/ is not formatted: run: terraform fmt -recursive terraform"

# The stack and its tests, without anything a local terraform init may have left behind.
mkdir -p "$scratch/stack"
tar -C terraform --exclude=.terraform --exclude=.terraform.lock.hcl --exclude='*.tfstate*' -cf - . | tar -C "$scratch/stack" -xf -

# init's own output stays out of the warning check: from a mirror of one platform it
# always warns that the lock file it writes (in the scratch copy) has that platform only.
say "terraform init -backend=false"
terraform -chdir="$scratch/stack" init -backend=false -input=false -no-color >"$scratch/init.log" 2>&1 || {
  cat "$scratch/init.log" >&2
  fail "terraform init could not install the hashicorp/aws provider with the CLI configuration $TF_CLI_CONFIG_FILE: run: bash scripts/setup.sh (it finds the provider mirror and writes $BAKERY_TF_CLI_CONFIG)"
}
step -chdir="$scratch/stack" validate -no-color || fail "terraform validate failed (above)"
step -chdir="$scratch/stack" test -no-color || fail "terraform test failed (above)"

if grep -n 'Warning:' "$log" >&2; then
  fail "terraform printed warnings (above): fix them, a provider warning becomes an error in its next release"
fi
say "ok"

#!/usr/bin/env bash
# The staging remediation, offline: the roadmap's broken staging environment is seeded into
# the embedded Google Cloud emulator, then Cairn reports its health (CRITICAL), plans and
# applies the fix with live progress, and reports again (HEALTHY).
#
# It runs on a scratch copy of stacks/ and modules/ so that the repository's state/staging —
# which may hold the state of a real project — is never touched.
#
# `bash stacks/staging/demo.sh --print-binary` builds Cairn and prints where the binary is.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"

# Builds Cairn and prints the binary's path. CARGO_TARGET_DIR, a `build.target-dir` in a cargo
# config and workspaces all move it away from target/debug, so ask cargo: the JSON message of
# the bin artifact names its executable (plain grep and sed: jq is often not installed).
# Compiler diagnostics still go to the terminal (json-render-diagnostics).
locate_cairn() {
  local messages
  messages="$("${CARGO:-cargo}" build --quiet --bin cairn --message-format=json-render-diagnostics)" || return 1
  printf '%s\n' "$messages" \
    | grep '"reason":"compiler-artifact"' \
    | grep -o '"executable":"[^"]*"' \
    | tail -n 1 \
    | sed -e 's/^"executable":"//' -e 's/"$//'
}
cairn="$(locate_cairn)" || { echo "cargo could not build cairn (see above)" >&2; exit 1; }
if [ -z "$cairn" ] || [ ! -x "$cairn" ]; then
  echo "cargo built cairn but did not report an executable for it (got '$cairn')" >&2
  exit 1
fi
if [ "${1:-}" = "--print-binary" ]; then
  printf '%s\n' "$cairn"
  exit 0
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/cairn-staging-demo.XXXXXX")"
cp -R stacks modules "$scratch/"
mkdir -p "$scratch/state"
rm -rf "$scratch/stacks/staging/demo.sh"
stack="$scratch/stacks/staging"
emulator=(--emulator --emulator-scenario "$stack/scenarios/broken-staging.json")

step() { printf '\n\033[1m== %s\033[0m\n\n' "$1"; }

step "1/4 Health of staging as the roadmap found it"
"$cairn" "${emulator[@]}" check "$stack" && status=0 || status=$?
[ "$status" -eq 2 ] || { echo "expected the broken environment to fail its checks (exit 2), got $status" >&2; exit 1; }

step "2/4 The plan: adopt what exists, fix what is wrong, create what is missing"
"$cairn" "${emulator[@]}" plan "$stack"

step "3/4 Apply"
"$cairn" "${emulator[@]}" apply "$stack" --auto-approve

step "4/4 Health after the remediation"
"$cairn" "${emulator[@]}" check "$stack"

printf '\nThe emulated cloud and the state are in %s (delete it when done).\n' "$scratch"

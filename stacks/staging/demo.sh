#!/usr/bin/env bash
# The staging remediation, offline: the roadmap's broken staging environment is seeded into
# the embedded Google Cloud emulator, then Cairn reports its health (CRITICAL), plans and
# applies the fix with live progress, and reports again (HEALTHY).
#
# It runs on a scratch copy of stacks/ and modules/ so that the repository's state/staging —
# which may hold the state of a real project — is never touched.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"

cargo build --quiet
cairn="$repo/target/debug/cairn"

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

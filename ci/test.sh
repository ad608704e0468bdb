#!/usr/bin/env bash
# hilt's test command (README.md): sets up a fresh machine (apt packages, the firmware toolchain,
# QEMU), builds the QEMU reference device's firmware, checks formatting and lints, runs the
# project's tests (which run every check against the reference device with and without its flaws),
# runs the flaw matrix again against the firmware under QEMU, then runs hilt itself against both
# devices and validates the JUnit the way Jenkins does.
set -euo pipefail
cd "$(dirname "$0")/.."

schema="${HILT_JUNIT_XSD:-$(pwd)/../shared/schemas/junit-10.xsd}"
export HILT_JUNIT_XSD="$schema"
[ -f "$schema" ] || { echo "ci/test.sh: JUnit schema not found at $schema (set HILT_JUNIT_XSD)" >&2; exit 2; }

step() { printf '\n=== %s ===\n' "$*"; }

step "setup"
ci/setup.sh
# The imgtool cross-check must run in CI, never skip quietly.
HILT_IMGTOOL="$(ci/imgtool.sh)"
export HILT_IMGTOOL HILT_REQUIRE_IMGTOOL=1

step "firmware of the QEMU reference device"
HILT_QEMU_FIRMWARE="$(ci/firmware.sh)"
# The QEMU tests must run in CI, never skip quietly.
export HILT_QEMU_FIRMWARE HILT_REQUIRE_QEMU=1
echo "$HILT_QEMU_FIRMWARE"

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release -- -D warnings

step "project tests"
cargo test --workspace --release

step "flaw matrix against the reference device under QEMU"
HILT_TEST_TARGET=targets/qemu-mps2-an385.yaml \
  cargo test --release -p hilt --test identity --test lockout --test reset --test update -- --test-threads=1

# hilt itself, as a user runs it: the host build, then the firmware as a production unit (debug
# port locked) and as an engineering unit (debug port open for the checks that look inside).
run_hilt() {
  local name=$1
  shift
  step "hilt run $* ($name)"
  rm -rf "results-$name"
  cargo run --release -- run --out "results-$name" "$@"
  xmllint --noout --schema "$schema" "results-$name/junit.xml"
  echo "results-$name/junit.xml validates against $schema"
}
run_hilt refdev --target targets/refdev.yaml
run_hilt qemu-production --target targets/qemu-mps2-an385.yaml
HILT_QEMU_UNIT=engineering run_hilt qemu-engineering --target targets/qemu-mps2-an385.yaml

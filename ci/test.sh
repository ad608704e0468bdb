#!/usr/bin/env bash
# hilt's test command (README.md): sets up a fresh machine, checks formatting and lints, runs the
# project's tests (which run every check against the reference device with and without its flaws),
# then runs hilt itself against the reference device and validates the JUnit the way Jenkins does.
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

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release -- -D warnings

step "project tests"
cargo test --workspace --release

step "hilt against the reference device"
rm -rf results
cargo run --release -- run --out results
xmllint --noout --schema "$schema" results/junit.xml
echo "results/junit.xml validates against $schema"

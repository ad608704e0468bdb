#!/usr/bin/env bash
# Builds the reference device's Cortex-M3 firmware for QEMU (fixtures/refdev-fw) and prints the ELF
# path. rustup cannot add embedded targets here; Debian's rustc-web can, with build-std
# (RUSTC_BOOTSTRAP=1). Installs what is missing: rustc-web, cargo-web, rust-web-src, lld,
# qemu-system-arm. Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

need_apt=()
[ -x /usr/bin/rustc ] && /usr/bin/rustc --version 2>/dev/null | grep -q . || need_apt+=(rustc-web cargo-web)
[ -d /usr/lib/rustlib/src/rust/library/core ] || need_apt+=(rust-web-src)
command -v ld.lld >/dev/null 2>&1 || need_apt+=(lld)
command -v qemu-system-arm >/dev/null 2>&1 || need_apt+=(qemu-system-arm)
if ((${#need_apt[@]})); then
  echo "ci/firmware.sh: installing ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
fi

export CARGO_TARGET_DIR="$root/target/firmware"
(cd "$root/fixtures/refdev-fw" && RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --quiet >&2)
echo "$CARGO_TARGET_DIR/thumbv7m-none-eabi/release/refdev-fw"

#!/usr/bin/env bash
# Installs imgtool, MCUboot's own image tool from PyPI, into a venv for the cross-check test
# (harness/tests/imgtool.rs), and prints its path. Idempotent.
set -euo pipefail
dir="${HILT_TOOLS_DIR:-$(cd "$(dirname "$0")/.." && pwd)/target/tools}/imgtool-venv"
if [ ! -x "$dir/bin/imgtool" ]; then
  echo "ci/imgtool.sh: installing imgtool into $dir" >&2
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check imgtool
fi
echo "$dir/bin/imgtool"

#!/usr/bin/env bash
# Fresh Debian machine to a passing test suite: installs dependencies, builds
# everything (library, tools, tests, sanitizer build of the tests, benchmarks)
# and runs every ctest label: unit, cli, sanitize (ASan + UBSan), install.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup-deps.sh"
"$root/scripts/build.sh"
cd "${OCRCORE_BUILD_DIR:-$root/build}"
ctest --output-on-failure --parallel "$(nproc)" --timeout 1800

#!/usr/bin/env bash
# Fresh Debian machine to a passing test suite: installs dependencies (with
# matplotlib and Chromium for the compression report's test), builds
# everything (library, tools, tests, sanitizer builds of the suites,
# benchmarks, the Python package) and runs every ctest label: unit, cli, train,
# onnx, compress, python, report, crash, sanitize (ASan + UBSan), tsan, install.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup-deps.sh" --report
"$root/scripts/build.sh"
# ONNX Runtime (npm onnxruntime-node, CPU binaries bundled; its install script
# only fetches GPU builds) for the ONNX export tests, which skip without it.
if command -v npm > /dev/null; then
  (cd "$root/tests/onnx" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
    echo "test.sh: could not install onnxruntime-node; the ONNX Runtime tests will skip" >&2
fi
cd "${OCRCORE_BUILD_DIR:-$root/build}"
ctest --output-on-failure --parallel "$(nproc)" --timeout 1800

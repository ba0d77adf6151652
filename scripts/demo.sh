#!/usr/bin/env bash
# Fresh Debian machine to recognised text: installs dependencies, builds
# ocr-infer, and reads the bundled sample lines with the bundled default model,
# scoring them against their ground truth.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup-deps.sh"
OCRCORE_BUILD_DIR=${OCRCORE_BUILD_DIR:-$root/build-demo} \
  "$root/scripts/build.sh" -DOCRCORE_BUILD_TESTS=OFF -DOCRCORE_BUILD_BENCHMARKS=OFF
"${OCRCORE_BUILD_DIR:-$root/build-demo}/tools/ocr-infer" --format tsv "$root/models/samples" "$@"

#!/usr/bin/env bash
# Fresh Debian machine to recognised text: installs the runtime's dependencies
# only, builds libocrcore and ocr-infer (no training side, tests or
# benchmarks), and reads the bundled sample lines with the bundled default
# model, scoring them against their ground truth. Extra arguments go to
# ocr-infer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build-demo}

echo "demo: [1/3] Debian packages for the runtime (scripts/setup-deps.sh --runtime)"
"$root/scripts/setup-deps.sh" --runtime
echo "demo: [2/3] building libocrcore and ocr-infer into $build (a few minutes on 2 cores)"
OCRCORE_BUILD_DIR=$build "$root/scripts/build.sh" -DOCRCORE_BUILD_TRAINING=OFF -DOCRCORE_BUILD_PYTHON=OFF \
  -DOCRCORE_BUILD_TESTS=OFF -DOCRCORE_BUILD_BENCHMARKS=OFF
echo "demo: [3/3] reading $root/models/samples with the default model" \
  "(path, text, confidence; CER/WER on stderr)"
"$build/tools/ocr-infer" --format tsv "$root/models/samples" "$@"

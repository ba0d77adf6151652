#!/usr/bin/env bash
# Batch OCR on a Dask cluster against ocr-infer, side by side in one run:
# lines/s with 1 and 2 dask-worker processes (one thread each) against
# `ocr-infer -t 1` and `-t 2`, and each worker's peak RSS, over LINES rendered
# lines (default 4,000), medians of ROUNDS rounds (default 3) in alternating
# order (benchmarks/dask_throughput.py). Writes benchmarks/results/dask.md.
#
#   benchmarks/run_dask.sh
#   LINES=10000 ROUNDS=5 PARTITION_SIZE=512 benchmarks/run_dask.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
lines=${LINES:-4000}
rounds=${ROUNDS:-3}
work=$build/dask-bench
cmake --build "$build" --target ocr-infer ocr-synth ocrcore_python >/dev/null
if [[ ! -f $work/lines-$lines/.complete ]]; then
  rm -rf "$work/lines-$lines"
  "$build/tools/ocr-synth" --corpus /usr/share/common-licenses -o "$work/lines-$lines" \
    --count "$lines" --height 0 --seed 11 2> /dev/null
  touch "$work/lines-$lines/.complete"
fi
PYTHONPATH=$build/python:$root/tests/python${PYTHONPATH:+:$PYTHONPATH} /usr/bin/python3 \
  "$root/benchmarks/dask_throughput.py" "$build/tools/ocr-infer" "$work/lines-$lines" "$rounds" \
  "$root/benchmarks/results/dask.md"

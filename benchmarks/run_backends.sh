#!/usr/bin/env bash
# Runs the reference-vs-oneDNN benchmark (medians of 5 repetitions, both
# backends side by side in one run) and writes benchmarks/results/backends.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
cmake --build "$build" --target bench_backends >/dev/null
out="$root/benchmarks/results/backends.md"
raw=$("$build/benchmarks/bench_backends" --benchmark_repetitions=5 \
        --benchmark_report_aggregates_only=true 2>&1)
{
  echo "# Reference vs oneDNN backend"
  echo
  echo "Command: \`benchmarks/run_backends.sh\` (commit $(git -C "$root" rev-parse --short HEAD)," \
       "$(date -u +%Y-%m-%d), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores)."
  echo "Random teacher-sized model (\`benchmarks/arch/teacher-sized.json\`), lines 32x256,"
  echo "\`Recognizer::forward\` after warm-up; medians of 5 repetitions."
  echo
  echo '```'
  echo "$raw"
  echo '```'
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"

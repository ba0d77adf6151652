#!/usr/bin/env bash
# Old against new: bench_runtime of this checkout and of an earlier revision
# (REV, built in a worktree of its own), on the same normalised lines, in
# alternating rounds (old, new, new, old, ...) so that a shared machine's
# drift falls on both; medians over ROUNDS. The engine refactors must cost
# nothing: the ratio new/old of each figure should be within a few percent.
#
#   benchmarks/run_engine_ab.sh                # REV=727220a (before the layer registry), 7 rounds
#   REV=HEAD~3 ROUNDS=9 MODELS="compact=models/compact-printed.ocrm" OUT=/tmp/ab.md benchmarks/run_engine_ab.sh
#
# Figures per model and precision (one thread): latency at batch 1 (ms per
# line) and throughput at batch 8 (lines/s), on uw3-dev test lines (when
# ../shared is present) and 200 rendered lines. Writes
# benchmarks/results/engine_ab.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
rev=${REV:-727220a}
rounds=${ROUNDS:-7}
work=$build/engine-ab
old_src=$work/old-src
out=${OUT:-$root/benchmarks/results/engine_ab.md}
mkdir -p "$work"
cmake --build "$build" --target bench_runtime ocr-synth >/dev/null

if [[ ! -d $old_src ]]; then git -C "$root" worktree add -f --detach "$old_src" "$rev" >/dev/null; fi
git -C "$old_src" checkout -q --detach "$rev"
cmake -S "$old_src" -B "$old_src/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DOCRCORE_SANITIZER_TESTS=OFF -DOCRCORE_TSAN_TESTS=OFF >/dev/null
cmake --build "$old_src/build" --target bench_runtime >/dev/null
old=$old_src/build/benchmarks/bench_runtime new=$build/benchmarks/bench_runtime

sets=()
if [[ -d $root/../shared/data/uw3-dev/test ]]; then
  sets+=("uw3-test=$root/../shared/data/uw3-dev/test")
else
  echo "run_engine_ab: ../shared/data absent: rendered lines only" >&2
fi
if [[ ! -f $work/rendered/.complete ]]; then
  "$build/tools/ocr-synth" --corpus /usr/share/common-licenses -o "$work/rendered" --count 200 \
    --seed 9001 --height 48 --degrade 0.3 -q
  touch "$work/rendered/.complete"
fi
sets+=("rendered=$work/rendered")

source "$root/benchmarks/common.sh"
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }

{
  echo "# Engine A/B: $(git -C "$root" rev-parse --short HEAD) against $rev"
  echo
  echo "bench_runtime, one thread, $rounds alternating rounds (medians), $(nproc) cores:"
  echo "latency = batch 1 ms per line, throughput = batch 8 lines/s. Ratio new/old: < 1 is"
  echo "faster for latency, > 1 faster for throughput."
  echo
  echo "| model | set | precision | latency old | latency new | ratio | throughput old | throughput new | ratio |"
  echo "|---|---|---|---:|---:|---:|---:|---:|---:|"
} > "$out.tmp"
for model in ${MODELS:-compact=$root/models/compact-printed.ocrm teacher=$root/models/teacher-printed.ocrm}; do
  mname=${model%%=*} mpath=${model#*=}
  for set in "${sets[@]}"; do
    sname=${set%%=*} sdir=${set#*=}
    lines=$work/$mname-$sname.bin
    "$new" --model "$mpath" --export-lines "$lines" "$sdir"/*.png >/dev/null
    for precision in fp32 int8; do
      if [[ $precision == int8 ]] && ! grep -qw avx512_vnni /proc/cpuinfo; then continue; fi
      : > "$work/old.txt"; : > "$work/new.txt"
      for ((r = 0; r < rounds; ++r)); do
        order=(old new); ((r % 2)) && order=(new old)
        for which in "${order[@]}"; do
          exe=$old; [[ $which == new ]] && exe=$new
          "$exe" --model "$mpath" --lines "$lines" --threads 1 --batches 1 8 --runs 3 \
            --lstm-precision $precision --conv-precision $precision | tail -1 >> "$work/$which.txt"
        done
      done
      lat_old=$(field latency_ms < "$work/old.txt" | median)
      lat_new=$(field latency_ms < "$work/new.txt" | median)
      thr_old=$(sed -n 's/.*"8":\([0-9.e+-]*\).*/\1/p' "$work/old.txt" | median)
      thr_new=$(sed -n 's/.*"8":\([0-9.e+-]*\).*/\1/p' "$work/new.txt" | median)
      awk -v m="$mname" -v s="$sname" -v p="$precision" -v lo="$lat_old" -v ln="$lat_new" \
        -v to="$thr_old" -v tn="$thr_new" 'BEGIN {
          printf "| %s | %s | %s | %.3f | %.3f | %.3f | %.1f | %.1f | %.3f |\n",
            m, s, p, lo, ln, ln / lo, to, tn, tn / to }' >> "$out.tmp"
      echo "run_engine_ab: $mname $sname $precision done" >&2
    done
  done
done
mv "$out.tmp" "$out"
cat "$out"

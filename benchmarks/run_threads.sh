#!/usr/bin/env bash
# The whole program on more cores: ocr-infer -t 1 against -t N (N = the
# machine's cores, at least 2), greedy and with the language model, on
# 1,000 rendered scan-like test lines and on ../shared/data/uw3-dev when
# present (each list repeated to MIN_LINES lines), the thread counts
# alternating in each of ROUNDS rounds; medians of the per-round ratios.
# From the measured speedup S on N cores, Amdahl's serial share
# s = (N / S - 1) / (N - 1) and what it leaves on 16 and 64 cores,
# 1 / (s + (1 - s) / P): the part of a line's work that does not spread
# (the calling thread's hand-over of results in order, writing the output,
# start-up) bounds a large server.
#
# Writes benchmarks/results/threads.md.
#
#   benchmarks/run_threads.sh [MODEL.ocrm]      # default: the bundled compact model
#   ROUNDS=9 MIN_LINES=8000 benchmarks/run_threads.sh   # (5, 4000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
model=${1:-$root/models/compact-printed.ocrm}
lm=$root/models/printed-english.ocrlm
work=${THREADS_WORK_DIR:-$root/runs/threads}
rounds=${ROUNDS:-5}
min_lines=${MIN_LINES:-4000}
cores=$(nproc)
((cores >= 2)) || cores=2
uw3=$root/../shared/data/uw3-dev
out=$root/benchmarks/results/threads.md

"$root/scripts/build.sh" > /dev/null
source "$root/benchmarks/common.sh"
# scripts/make-corpus.sh's corpus: deterministic, any copy will do.
scan_test_lines "$work/rendered" "${CORPUS_DIR:-$work/corpus}"

# lines/s from ocr-infer's summary.
rate() {
  "$build/tools/ocr-infer" -q -m "$model" "$@" -o /dev/null 2>&1 |
    awk '/lines\/s/ { for (i = 1; i <= NF; ++i) if ($i == "lines/s") r = $(i - 1) } END { print r }'
}

sets=("rendered=$work/rendered")
[[ -d $uw3 ]] && sets+=("uw3-dev=$uw3")
decoders=("greedy=" "language model=--lm $lm")
declare -A one many ratio
for ((r = 1; r <= rounds; ++r)); do
  for s in "${sets[@]}"; do
    name=${s%%=*} dir=${s#*=}
    list=$work/$name.list
    repeated_image_list "$dir" "$list" "$min_lines"
    for d in "${decoders[@]}"; do
      dname=${d%%=*}
      read -r -a opts <<< "${d#*=}"
      # Which goes first alternates: neither meets a warmer machine every time.
      if ((r % 2)); then
        a=$(rate -t 1 "${opts[@]}" "@$list") b=$(rate -t "$cores" "${opts[@]}" "@$list")
      else
        b=$(rate -t "$cores" "${opts[@]}" "@$list") a=$(rate -t 1 "${opts[@]}" "@$list")
      fi
      one[$name $dname]+="$a " many[$name $dname]+="$b "
      ratio[$name $dname]+="$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }') "
      echo "round $r, $name, $dname: -t 1 $a lines/s, -t $cores $b lines/s" >&2
    done
  done
done

{
  echo "# The whole program on more cores"
  echo
  echo "Command: \`benchmarks/run_threads.sh\` (model \`$(basename "$model")\`, ROUNDS=$rounds; commit $(git -C "$root" rev-parse --short HEAD), $(date -u +%F), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores)."
  echo "\`ocr-infer -t 1\` against \`-t $cores\` (its summary's lines/s: reading, normalising, the network,"
  echo "decoding and writing, start-up included) in each round, which goes first alternating; medians"
  echo "over the rounds. Rendered: 1,000 scan-like test lines (seed 31); uw3-dev: its 70 real lines;"
  echo "each list repeated to $min_lines lines or more. Serial share s from Amdahl's law,"
  echo "S = 1 / (s + (1 - s) / $cores); the last columns what that s leaves on 16 and 64 cores."
  echo
  echo "| set | decoder | lines/s -t 1 | lines/s -t $cores | speedup | serial share | 16 cores (on paper) | 64 cores (on paper) |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  for s in "${sets[@]}"; do
    name=${s%%=*}
    for d in "${decoders[@]}"; do
      dname=${d%%=*}
      S=$(median <<< "${ratio[$name $dname]}")
      awk -v set="$name" -v dec="$dname" -v a="$(median <<< "${one[$name $dname]}")" \
        -v b="$(median <<< "${many[$name $dname]}")" -v S="$S" -v n="$cores" 'BEGIN {
          s = (n / S - 1) / (n - 1); if (s < 0) s = 0
          printf "| %s | %s | %.1f | %.1f | %.2fx | %.1f%% | %.1fx | %.1fx |\n", set, dec, a, b, S,
            100 * s, 1 / (s + (1 - s) / 16), 1 / (s + (1 - s) / 64) }'
    done
  done
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"

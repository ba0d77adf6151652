#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, clang, ASan + UBSan) in build-fuzz/
# and runs each for SECONDS seconds on its committed seed corpus
# (fuzz/corpus/HARNESS), then replays every committed crash input
# (fuzz/regressions/HARNESS), which must all pass now. New inputs that grow
# coverage go to build-fuzz/corpus/HARNESS (merge them into fuzz/corpus with
# -merge=1 when worth keeping); a crash stops that harness with its input in
# build-fuzz/crashes/HARNESS and the script fails.
#
#   scripts/fuzz.sh                 # every harness, 60 s each, seed 1
#   FUZZ_RUNS=20000 scripts/fuzz.sh # what CI runs
#   SECONDS_PER_HARNESS=600 FUZZ_SEED=0 scripts/fuzz.sh fuzz_onnx_import
#
# FUZZ_SEED (default 1) fixes libFuzzer's mutation sequence and FUZZ_RUNS caps
# the executions: CI (FUZZ_RUNS=20000, on a clean clone's corpus) then replays
# exactly a sequence a local run has passed, so that it turns red on a change
# that breaks a parser, not on the luck of the draw. Exploration is local and
# longer: FUZZ_SEED=0 draws a new seed, and whatever it finds is fixed and
# kept in fuzz/regressions.
#
# Prints one JSON line per harness (executions, coverage edges, corpus size,
# crashes) and appends it to build-fuzz/fuzz-runs.jsonl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${SECONDS_PER_HARNESS:-60}
seed=${FUZZ_SEED:-1}
runs=()
[[ -n ${FUZZ_RUNS:-} ]] && runs=(-runs="$FUZZ_RUNS")
"$root/scripts/setup-deps.sh" --fuzz > /dev/null
all=(fuzz_model_file fuzz_onnx_import fuzz_image fuzz_architecture fuzz_text_inputs
  fuzz_language_model)
harnesses=("$@")
((${#harnesses[@]})) || harnesses=("${all[@]}")

if [[ ! -f $build/build.ninja ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOCRCORE_FUZZ=ON -DOCRCORE_BUILD_TESTS=OFF -DOCRCORE_BUILD_TOOLS=OFF \
    -DOCRCORE_BUILD_BENCHMARKS=OFF -DOCRCORE_SANITIZER_TESTS=OFF > /dev/null
fi
cmake --build "$build" --target "${harnesses[@]}"

# Seeds that exist only as test fixtures are added to the run's corpus.
seed_fixtures() {  # harness dir
  local f=$root/tests/fixtures
  case $1 in
    fuzz_model_file) cp "$f"/torch_crnn.ocrm "$2/" ;;
    fuzz_onnx_import) cp "$f"/torch_crnn.onnx "$f"/torch_dynamic_height.onnx "$f"/torch_unsupported_op.onnx "$2/" ;;
    fuzz_image) cp "$root"/models/samples/*.png "$2/" ;;
    fuzz_architecture) cp "$root"/models/arch/*.json "$2/" ;;
  esac
}

status=0
for h in "${harnesses[@]}"; do
  corpus=$build/corpus/$h crashes=$build/crashes/$h
  mkdir -p "$corpus" "$crashes"
  seed_fixtures "$h" "$corpus"
  seeds=()
  [[ -d $root/fuzz/corpus/$h ]] && seeds+=("$root/fuzz/corpus/$h")
  dict=()
  [[ -f $root/fuzz/dict/$h.dict ]] && dict=(-dict="$root/fuzz/dict/$h.dict")
  log=$build/$h.log
  echo "== $h: ${seconds} s" >&2
  # -rss_limit_mb: a parser that allocates what a header claims is a bug, not
  # an out-of-memory kill; -timeout: likewise for one input that runs away.
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$build/fuzz/$h" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=10 -max_len=65536 -seed="$seed" "${runs[@]}" -artifact_prefix="$crashes/" -print_final_stats=1 "${dict[@]}" \
    "$corpus" "${seeds[@]}" > "$log" 2>&1; then
    crashed=0
  else
    crashed=1
    status=1
    echo "fuzz.sh: $h found a failing input (build-fuzz/crashes/$h); log: $log" >&2
    grep -m 5 -E "ERROR|fuzz check failed|runtime error|SUMMARY" "$log" >&2 || true
  fi
  execs=$(grep -oP 'stat::number_of_executed_units:\s*\K[0-9]+' "$log" | tail -1)
  used_seed=$(grep -oP 'Seed: \K[0-9]+' "$log" | head -1)
  edges=$(grep -oP 'cov: \K[0-9]+' "$log" | tail -1)
  files=$(find "$corpus" -type f | wc -l)
  line=$(printf '{"harness":"%s","seconds":%s,"seed":%s,"executions":%s,"edges":%s,"corpus":%s,"crashed":%s,"time":"%s"}' \
    "$h" "$seconds" "${used_seed:-$seed}" "${execs:-0}" "${edges:-0}" "$files" "$crashed" "$(date -u +%FT%TZ)")
  echo "$line"
  echo "$line" >> "$build/fuzz-runs.jsonl"
  # Inputs that once crashed must pass now.
  if [[ -d $root/fuzz/regressions/$h ]] && compgen -G "$root/fuzz/regressions/$h/*" > /dev/null; then
    if ! "$build/fuzz/$h" -rss_limit_mb=2048 -timeout=10 "$root/fuzz/regressions/$h"/* > "$log.regressions" 2>&1; then
      echo "fuzz.sh: $h fails a committed regression input; log: $log.regressions" >&2
      status=1
    fi
  fi
done
exit $status

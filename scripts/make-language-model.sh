#!/usr/bin/env bash
# Builds the bundled character language model, models/printed-english.ocrlm
# (ARPA from ocr-lm, kept in the work directory, compiled into the binary form
# that loads fast), from the broad text of scripts/make-lm-corpus.sh, and tunes its weight and
# bonus for each model on 1,000 scan-like lines rendered from R's manuals (a
# genre neither the networks nor the language model learned from; never real
# scans): `ocr-lm tune` records the best point in the model file, which
# `ocr-infer --lm` then uses. The grids go to benchmarks/results/lm-tune-*.json.
#
#   scripts/make-language-model.sh                  # the bundled models
#   scripts/make-language-model.sh runs/x/best.ocrm # tune these models (in place)
#   LM_BUILD=0 scripts/make-language-model.sh ...   # tune only, keep the bundled model
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
work=${LM_WORK_DIR:-$root/runs/lm-corpus}
arpa=$work/printed-english.arpa
lm=$root/models/printed-english.ocrlm
threads=${THREADS:-$(nproc)}
models=("$@")
((${#models[@]})) || models=("$root/models/teacher-printed.ocrm" "$root/models/compact-printed.ocrm")

"$root/scripts/setup-deps.sh" --training-data > /dev/null
"$root/scripts/build.sh" > /dev/null
[[ -f $work/lm/python-docs.txt && -f $work/tune/r-manuals.txt ]] ||
  "$root/scripts/make-lm-corpus.sh" "$work"
if [[ ${LM_BUILD:-1} != 0 ]]; then
  "$build/tools/ocr-lm" "$work/lm" -o "$arpa" --order 5 --min-count 3
  "$build/tools/ocr-lm" compile "$arpa" -o "$lm"
fi

source "$root/scripts/scan-lines.sh"
lines=$work/tune-lines
if ! scan_lines_current "$lines"; then
  rm -rf "$lines"
  "$build/tools/ocr-synth" -q --corpus "$work/tune" --fonts "${scan_fonts[@]}" -o "$lines" \
    --count 1000 --seed 4 "${scan_synth_options[@]}" -t "$threads"
  scan_lines_mark "$lines"
fi
for model in "${models[@]}"; do
  name=$(basename "$model" .ocrm)
  echo "== $name"
  "$build/tools/ocr-lm" tune -q -t "$threads" --model "$model" --lm "$lm" "$lines" \
    --write-model "$model" --json "$root/benchmarks/results/lm-tune-$name.json" |
    grep -E "validation lines|greedy|best"
done

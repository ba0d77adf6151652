#!/usr/bin/env bash
# Renders the printed-English teacher's line sets into TEACHER_WORK_DIR/data
# (runs/teacher/data): train (TRAIN_LINES, 120,000), val and test (2,000 each),
# scan-like lines (scripts/scan-lines.sh; the training lines with its
# scan_train_options) of the held-apart parts of the corpus
# of scripts/make-corpus.sh, each with its own seed. A set whose rendering is
# current is kept; rendering is deterministic, so a new machine renders the
# same lines again. scripts/train-teacher.sh, scripts/train-compact.sh and
# benchmarks/run_compress_table.sh call it when the sets are missing.
#
#   scripts/render-teacher-data.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
work=${TEACHER_WORK_DIR:-$root/runs/teacher}
train_lines=${TRAIN_LINES:-120000}
threads=${THREADS:-$(nproc)}

"$root/scripts/setup-deps.sh" --training-data
"$root/scripts/build.sh" > /dev/null
[[ -d $work/corpus/train ]] || "$root/scripts/make-corpus.sh" "$work/corpus"

source "$root/scripts/scan-lines.sh"

render() {  # name corpus-part count seed version [extra ocr-synth options]
  local dir=$work/data/$1 version=$5
  if scan_lines_current "$dir" "$version"; then return; fi
  rm -rf "$dir"
  "$build/tools/ocr-synth" --corpus "$work/corpus/$2" --fonts "${scan_fonts[@]}" -o "$dir" \
    --count "$3" --seed "$4" "${scan_synth_options[@]}" "${@:6}" -t "$threads"
  scan_lines_mark "$dir" "$version"
}
render train train "$train_lines" 1 "$scan_train_version" "${scan_train_options[@]}"
render val val 2000 2 "$scan_lines_version"
render test test 2000 3 "$scan_lines_version"

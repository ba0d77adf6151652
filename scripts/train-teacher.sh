#!/usr/bin/env bash
# Reproduces the printed-English teacher (models/teacher-printed.ocrm) from
# scratch: renders the training, validation and test lines with ocr-synth,
# trains models/arch/teacher-printed.json with ocr-train, and scores the
# result. Re-running resumes: rendered sets are kept and training continues
# from its last checkpoint (stop it any time with Ctrl-C).
#
#   scripts/train-teacher.sh            # everything, ~3 hours on 2 cores
#   ITERATIONS=200 scripts/train-teacher.sh   # a quick smoke run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
work=${TEACHER_WORK_DIR:-$root/runs/teacher}
iterations=${ITERATIONS:-12000}
threads=${THREADS:-$(nproc)}
shared=$root/../shared/data/uw3-dev

"$root/scripts/setup-deps.sh"
"$root/scripts/build.sh" > /dev/null

# English technical prose: the licence texts every Debian system has, plus
# this project's own documentation.
corpus=(/usr/share/common-licenses "$root/README.md" "$root/docs")

render() {  # name count seed
  local dir=$work/data/$1
  if [[ -f $dir/.complete ]]; then return; fi
  "$build/tools/ocr-synth" --corpus "${corpus[@]}" -o "$dir" --count "$2" --seed "$3" \
    --height 48 --degrade 0.3 -t "$threads"
  touch "$dir/.complete"
}
render train 120000 1
render val 2000 2
render test 2000 3

train_sets=("$work/data/train")
# The 50 real scanned lines of uw3-dev/train (never test/) when available.
if [[ -d $shared/train ]]; then train_sets+=("$shared/train"); fi

resume=()
if [[ -f $work/run/checkpoint.ckpt ]]; then resume=(--resume); fi
"$build/tools/ocr-train" --arch "$root/models/arch/teacher-printed.json" \
  --train "${train_sets[@]}" --val "$work/data/val" --max-val-lines 1000 \
  --run-dir "$work/run" "${resume[@]}" --iterations "$iterations" -b 16 \
  --lr 1e-3 --warmup 500 --decay cosine --final-lr-ratio 0.02 --clip 20 \
  --validate-every 1000 --checkpoint-every 200 --log-every 50 --seed 1 -t "$threads"

echo "== rendered test set (held out)"
"$build/tools/ocr-infer" -q --model "$work/run/best.ocrm" "$work/data/test" -t "$threads" | tail -3
if [[ -d $shared/test ]]; then
  echo "== uw3-dev test"
  "$build/tools/ocr-infer" -q --model "$work/run/best.ocrm" "$shared/test" -t "$threads" | tail -3
fi

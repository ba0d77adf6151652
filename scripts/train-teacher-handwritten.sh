#!/usr/bin/env bash
# Trains the handwriting teacher (models/teacher-handwritten.ocrm) with
# ocr-train on the mixture scripts/make-handwriting-data.sh makes: real MNIST
# digit strings and handwriting-font text lines, half and half. The
# architecture is the printed teacher's (models/arch/teacher-printed.json: a
# VGG-style CNN of 4.6 M parameters that dominates the cost, a 2-layer DBLSTM
# of 64 per direction), and stage a starts from the printed teacher's weights
# (same alphabet, printable ASCII): its strokes, edges and its sequence model
# carry over, so the handwriting stages train only what is new. Validation on
# the validation sets of both kinds (their own digits and text); the test sets
# are scored only at the end.
#
# Stages each fit in one sitting and each stage's model is committed, so the
# next starts on any machine: stage a from the printed teacher (peak rate
# 1e-3, seed 1); stage b, c, ... continue from INIT_MODEL (default the bundled
# handwriting teacher) at 3e-4 with their own seeds. Re-running resumes from
# the run's checkpoint; STOP_AT=N stops with a checkpoint at iteration N.
#
#   scripts/train-teacher-handwritten.sh                           # stage a, 3,000 steps
#   STAGE=b ITERATIONS=8000 scripts/train-teacher-handwritten.sh  # stage b
#   STAGE=c ITERATIONS=12000 scripts/train-teacher-handwritten.sh # stage c (the bundled teacher)
#   TRAIN_LINES=2000 ITERATIONS=100 scripts/train-teacher-handwritten.sh  # smoke run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
work=${HANDWRITING_WORK_DIR:-$root/runs/handwriting}
iterations=${ITERATIONS:-3000}
stage=${STAGE:-a}
threads=${THREADS:-$(nproc)}
data=$work/data

"$root/scripts/make-handwriting-data.sh"

case $stage in
  a)
    run=$work/teacher-a
    stage_options=(--init-model "$root/models/teacher-printed.ocrm" --lr 1e-3 --warmup 300 --seed 1)
    ;;
  [b-z])
    run=$work/teacher-$stage
    stage_options=(--init-model "${INIT_MODEL:-$root/models/teacher-handwritten.ocrm}" --lr 3e-4
      --warmup 200 --seed $(($(printf '%d' "'$stage") - 96)))
    ;;
  *)
    echo "train-teacher-handwritten: STAGE is a letter, a to z" >&2
    exit 2
    ;;
esac
resume=()
if [[ -f $run/checkpoint.ckpt ]]; then resume=(--resume); fi
stop=()
if [[ -n ${STOP_AT:-} ]]; then stop=(--stop-at "$STOP_AT"); fi
"$build/tools/ocr-train" --arch "$root/models/arch/teacher-printed.json" \
  --normalization center_text --train "$data/digits/train" "$data/fonts/train" \
  --val "$data/digits/val" "$data/fonts/val" --run-dir "$run" "${resume[@]}" "${stop[@]}" \
  "${stage_options[@]}" --iterations "$iterations" -b 16 --decay cosine --final-lr-ratio 0.02 \
  --clip 20 --validate-every 500 --checkpoint-every 200 --log-every 50 -t "$threads"
if [[ -n ${STOP_AT:-} ]] && ((STOP_AT < iterations)); then
  echo "train-teacher-handwritten: stopped at iteration $STOP_AT of $iterations; run again to continue"
  exit 0
fi

for set in digits fonts; do
  echo "== $set/test (held-out digits or text; never trained on or used to choose)"
  "$build/tools/ocr-infer" -q --model "$run/best.ocrm" "$data/$set/test" -t "$threads" | tail -2
done

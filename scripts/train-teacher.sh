#!/usr/bin/env bash
# Reproduces the printed-English teacher from scratch: writes the text corpus
# (scripts/make-corpus.sh), renders training, validation and test lines with
# ocr-synth at scan resolution (half of them binarised as scanners do, a fifth
# in typewriter faces, ligatures, broken words, super- and subscripts), trains
# models/arch/teacher-printed.json with ocr-train on text-centred lines
# (--normalization center_text), and scores the result. No real scan is used
# for training or for choosing the model: ../shared/data/uw3-dev is only
# scored at the end.
#
# Re-running resumes: rendered sets are kept (they are also deterministic, so
# a new machine renders the same lines again in minutes) and training
# continues from the run's checkpoint.ckpt. STOP_AT=N stops with a checkpoint
# at iteration N, for runs longer than one sitting.
#
# Training runs in stages that each fit in one sitting, each stage's model
# being committed (models/teacher-printed.ocrm) so the next can start on any
# machine: stage a from scratch (peak learning rate 1e-3, seed 1); stage b
# (and c, d, ...) continues from INIT_MODEL (default the bundled teacher) with
# a fresh warm-up and cosine decay from 3e-4 over new orderings and
# augmentations of the lines (seed 2, 3, ...).
#
#   ITERATIONS=5500 scripts/train-teacher.sh            # stage a
#   STAGE=b ITERATIONS=4500 scripts/train-teacher.sh    # stage b
#   STAGE=c ITERATIONS=4500 scripts/train-teacher.sh    # stage c (the compact model's teacher)
#   STAGE=d ITERATIONS=5000 scripts/train-teacher.sh    # stage d
#   STAGE=e ITERATIONS=5000 scripts/train-teacher.sh    # stage e
#   STAGE=f ITERATIONS=5000 scripts/train-teacher.sh    # stage f (the committed teacher)
#   TRAIN_LINES=2000 ITERATIONS=200 scripts/train-teacher.sh   # a quick smoke run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
work=${TEACHER_WORK_DIR:-$root/runs/teacher}
iterations=${ITERATIONS:-5500}
stage=${STAGE:-a}
threads=${THREADS:-$(nproc)}
shared=$root/../shared/data/uw3-dev

"$root/scripts/render-teacher-data.sh"

case $stage in
  a) run=$work/run stage_options=(--lr 1e-3 --warmup 500 --seed 1) ;;
  [b-z])
    # Each later stage continues from the bundled model with its own seed
    # (b 2, c 3, ...) and run directory.
    run=$work/run-$stage
    stage_options=(--init-model "${INIT_MODEL:-$root/models/teacher-printed.ocrm}" --lr 3e-4
      --warmup 200 --seed $(($(printf '%d' "'$stage") - 96))) ;;
  *) echo "train-teacher: STAGE is a letter, a to z" >&2; exit 2 ;;
esac
resume=()
if [[ -f $run/checkpoint.ckpt ]]; then resume=(--resume); fi
stop=()
if [[ -n ${STOP_AT:-} ]]; then stop=(--stop-at "$STOP_AT"); fi
"$build/tools/ocr-train" --arch "$root/models/arch/teacher-printed.json" \
  --normalization center_text --train "$work/data/train" --val "$work/data/val" \
  --max-val-lines 1000 --run-dir "$run" "${resume[@]}" "${stop[@]}" "${stage_options[@]}" \
  --iterations "$iterations" -b 16 --decay cosine --final-lr-ratio 0.02 \
  --clip 20 --validate-every 1000 --checkpoint-every 200 --log-every 50 -t "$threads"
if [[ -n ${STOP_AT:-} ]] && ((STOP_AT < iterations)); then
  echo "train-teacher: stopped at iteration $STOP_AT of $iterations; run again to continue"
  exit 0
fi

echo "== rendered test set (held-out text and seed)"
"$build/tools/ocr-infer" -q --model "$run/best.ocrm" "$work/data/test" -t "$threads" | tail -2
if [[ -d $shared ]]; then
  echo "== uw3-dev (real scans, all 70 lines; never trained on)"
  "$build/tools/ocr-infer" -q --model "$run/best.ocrm" "$shared" -t "$threads" \
    --errors 15 > /dev/null
fi

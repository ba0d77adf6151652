#!/usr/bin/env bash
# The paper's comparison on one of our teachers (DESIGN.md 3-4), made fair:
# students of the same CNN trained by CTC alone, by plain feature matching
# (l2), by frame-level KL and by the LSTM-guided loss, each with
#
#   1. its learning rate from the same sweep (SWEEP_LRS, SWEEP_ITERATIONS
#      iterations, seed 1), chosen by validation CER only;
#   2. then TS_ITERATIONS iterations at that rate for every seed in SEEDS, on
#      the same lines (not augmented, so that the teacher's targets are
#      computed once per line and cached);
#
#  2b. and, so that no conclusion rests on a short budget, LONG_CRITERIA again
#      for LONG_ITERATIONS iterations, for every seed in LONG_SEEDS;
#
#  2c. and a narrower student sized for the speed target (FAST_CHANNELS; its
#      CNN about 40% of the student's time, since the DBLSTM both keep bounds
#      the speedup), LSTM-guided at the long budget, first seed, then CTC
#      fine-tuning: what 15x costs in accuracy;
#
# then the LSTM-guided student of the first seed through Tucker-2 and
# fine-tuning, and two rows beyond the paper's recipe (CTC fine-tuning with
# the DBLSTM unfrozen); and the VARIANTS students, each one change to the
# LSTM-guided student (grouped convolutions, fewer frames, a narrower DBLSTM).
# Every run is an ocr-compress run directory under WORK:
# a finished run (report.json) is kept and an interrupted one resumes from its
# checkpoint, so the table is built over as many sittings as it needs by
# running this again. CER: greedy decoding on the test sets (scored, never
# trained on or selected by); the table gives the mean over seeds and the
# spread (min-max). Speed: every distinct architecture timed side by side
# (bench_runtime, medians of RUNS rounds). Peers: Tesseract on the test sets
# in the same run.
#
# TABLE says which teacher and data:
#   printed (default): models/teacher-printed.ocrm on its rendered lines
#     (scripts/render-teacher-data.sh), tested on the rendered test set and all
#     70 lines of ../shared/data/uw3-dev; benchmarks/results/compress.md and
#     compress-report.html.
#   handwritten: models/teacher-handwritten.ocrm on the handwriting mixture
#     (scripts/make-handwriting-data.sh: real MNIST digit strings and
#     handwriting-font lines), tested on the digit-string and font test sets;
#     Tesseract with digits and separators whitelisted on the digit strings;
#     benchmarks/results/compress-handwritten.md and
#     compress-handwritten-report.html. Its defaults are smaller: CRITERIA
#     lstm-guided l2, SWEEP_LRS 1e-2 3e-2 1e-1, SEEDS 1, no long budget, no
#     fast student.
#
#   benchmarks/run_compress_table.sh [TEACHER.ocrm]
#   TABLE=handwritten benchmarks/run_compress_table.sh
#   # the speed table of issue 41: one criterion at its known rate, the variants
#   CRITERIA=lstm-guided SWEEP_LRS=3e-2 SEEDS=1 LONG_CRITERIA= FAST_CHANNELS= \
#     VARIANTS="grouped frames8 lstm48 frames8-lstm48" WORK=runs/compress-table-speed \
#     OUT=benchmarks/results/compress-speed.md REPORT=benchmarks/results/compress-speed-report.html \
#     benchmarks/run_compress_table.sh
# Environment: CRITERIA (lstm-guided l2 kl ctc), SWEEP_LRS (3e-4 1e-3 3e-3 1e-2 3e-2 1e-1),
# SWEEP_ITERATIONS (1000), SEEDS (1 2), TS_ITERATIONS (6000), LONG_CRITERIA
# (lstm-guided l2; empty for none), LONG_ITERATIONS (24000), LONG_SEEDS (SEEDS), FT_ITERATIONS
# (4000), CTC_FT_ITERATIONS (3000), RANKS (budget:params=0.75: the least
# compression that makes the student >= 12x smaller than the teacher),
# HOOI (10 refinement iterations), RUNS (5),
# STUDENT_CHANNELS, FAST_CHANNELS (8 16 16 32 32 32 64 64 64 128; empty for
# none), WORK (runs/compress-table, runs/compress-table-handwritten),
# TEACHER_CACHE_DIR (runs/teacher-cache, runs/handwriting/teacher-cache: the
# teacher's targets, several GB), VARIANTS (printed: grouped; handwritten: none;
# grouped, frames8, lstm48, frames8-lstm48), OUT and REPORT (the table and
# report files).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
uw3=$root/../shared/data/uw3-dev
table=${TABLE:-printed}
case $table in
  printed)
    teacher=${1:-$root/models/teacher-printed.ocrm}
    work=${WORK:-$root/runs/compress-table}
    data=${TEACHER_DATA:-$root/runs/teacher/data}
    # The teacher's rendered sets: rendered here when the default place is empty.
    if [[ ! -d $data/train && -z ${TEACHER_DATA:-} ]]; then
      "$root/scripts/render-teacher-data.sh"
    fi
    [[ -d $data/train ]] || { echo "no rendered data in $data (scripts/render-teacher-data.sh renders it)" >&2; exit 1; }
    train_sets=("$data/train") val_sets=("$data/val") test_sets=("$data/test")
    [[ -d $uw3 ]] && test_sets+=("$uw3")
    timing_sets=("$data/test")
    cache=${TEACHER_CACHE_DIR:-$root/runs/teacher-cache}
    out=${OUT:-$root/benchmarks/results/compress.md}
    report=${REPORT:-$root/benchmarks/results/compress-report.html}
    title="the printed-English teacher"
    default_criteria="lstm-guided l2 kl ctc" default_lrs="3e-4 1e-3 3e-3 1e-2 3e-2 1e-1"
    default_seeds="1 2" default_long="lstm-guided l2" default_fast="8 16 16 32 32 32 64 64 64 128"
    default_variants=grouped
    ;;
  handwritten)
    teacher=${1:-$root/models/teacher-handwritten.ocrm}
    work=${WORK:-$root/runs/compress-table-handwritten}
    data=${HANDWRITING_WORK_DIR:-$root/runs/handwriting}/data
    "$root/scripts/make-handwriting-data.sh"
    train_sets=("$data/digits/train" "$data/fonts/train") val_sets=("$data/digits/val" "$data/fonts/val")
    test_sets=("$data/digits/test" "$data/fonts/test") timing_sets=("${test_sets[@]}")
    cache=${TEACHER_CACHE_DIR:-${HANDWRITING_WORK_DIR:-$root/runs/handwriting}/teacher-cache}
    out=${OUT:-$root/benchmarks/results/compress-handwritten.md}
    report=${REPORT:-$root/benchmarks/results/compress-handwritten-report.html}
    title="the handwriting teacher"
    default_criteria="lstm-guided l2" default_lrs="1e-2 3e-2 1e-1"
    default_seeds="1" default_long="" default_fast="" default_variants=""
    ;;
  *)
    echo "run_compress_table: TABLE is printed or handwritten, not '$table'" >&2
    exit 2
    ;;
esac
# The bundled compact model's CNN (scripts/train-compact.sh).
read -r -a channels <<< "${STUDENT_CHANNELS:-8 16 32 32 64 64 128 96 128 128}"
# Its last width (128) must stay: it feeds the teacher's DBLSTM.
read -r -a fast_channels <<< "${FAST_CHANNELS-$default_fast}"
read -r -a criteria <<< "${CRITERIA:-$default_criteria}"
read -r -a sweep_lrs <<< "${SWEEP_LRS:-$default_lrs}"
read -r -a seeds <<< "${SEEDS:-$default_seeds}"
sweep_iterations=${SWEEP_ITERATIONS:-1000}
ts_iterations=${TS_ITERATIONS:-6000}
read -r -a long_criteria <<< "${LONG_CRITERIA-$default_long}"
long_iterations=${LONG_ITERATIONS:-24000}
read -r -a long_seeds <<< "${LONG_SEEDS:-${seeds[*]}}"
ft_iterations=${FT_ITERATIONS:-4000}
# Variant students (VARIANTS, names from the list below): each the LSTM-guided
# student with one change, trained as the Tucker row is (TS_ITERATIONS of
# teacher-student learning at the swept rate, first seed, then FT_ITERATIONS
# of fine-tuning with the same loss), so that its row compares with that one.
#   grouped  the two widest 3x3 convolutions (64->128, 128->96) in 2 groups:
#            the predecessor method's baseline at about Tucker's footprint
# The sequence half compressed (issue 41), each choice on its own: the
# student's own DBLSTM learns from an added CTC term (weight 1, the size of
# the feature loss once trained) beside the LSTM-guided loss on the pooled
# teacher features, then CTC fine-tuning of the whole student (as the
# table's CTC fine-tuning rows, CTC_FT_ITERATIONS at 3e-4):
#   frames8         width stride 8: half the frames
#   lstm48          48 units per direction instead of 64
#   frames8-lstm48  both
read -r -a variants <<< "${VARIANTS-$default_variants}"
sequence_ft="--finetune-loss ctc --unfreeze-rnn --lr 3e-4 --finetune-iterations ${CTC_FT_ITERATIONS:-3000}"
declare -A variant_args=(
  [grouped]="--student-groups 1 1 1 1 1 1 2 2 1 1"
  [frames8]="--student-width-stride 8 --ctc-weight 1"
  [lstm48]="--student-lstm-hidden 48 --ctc-weight 1"
  [frames8-lstm48]="--student-width-stride 8 --student-lstm-hidden 48 --ctc-weight 1"
)
declare -A variant_ft_args=(
  [frames8]=$sequence_ft [lstm48]=$sequence_ft [frames8-lstm48]=$sequence_ft
)
declare -A variant_labels=(
  [grouped]="grouped student (64->128, 128->96 in 2 groups), lstm-guided"
  [frames8]="student at half the frames (width stride 8), lstm-guided + CTC"
  [lstm48]="student with a 48-unit DBLSTM, lstm-guided + CTC"
  [frames8-lstm48]="student at half the frames with a 48-unit DBLSTM, lstm-guided + CTC"
)
ranks=${RANKS:-budget:params=0.75}
hooi=${HOOI:-10}
threads=$(nproc)

[[ -f $teacher ]] || { echo "no teacher at $teacher (scripts/train-teacher.sh or scripts/train-teacher-handwritten.sh makes it)" >&2; exit 1; }
"$root/scripts/build.sh" > /dev/null
eval_sets=("${test_sets[@]}")

# The teacher's targets of every training line are computed once, by
# whichever run meets the line first, and kept on disk for every later run.
common=(--teacher "$teacher" --train "${train_sets[@]}" --val "${val_sets[@]}" --max-val-lines 500
        --no-augment --teacher-cache-mb 6144 --teacher-cache-dir "$cache" -t "$threads" -q)
run() {  # name, extra args
  local name=$1; shift
  local resume=()
  [[ -f $work/$name/report.json ]] && return
  [[ -d $work/$name ]] && resume=(--resume)
  echo "== $name ($(date +%H:%M))" >&2
  "$build/tools/ocr-compress" "${common[@]}" --run-dir "$work/$name" "${resume[@]}" "$@" >&2
}
# The lowest validation CER a stage's log records.
best_val_cer() {
  python3 -c 'import json, sys
print(min(e["cer"] for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "validation"))' \
    "$1/ts/log.jsonl"
}

# 1. The learning-rate sweep, and each criterion's choice.
declare -A lr_of
for c in "${criteria[@]}"; do
  best=""
  for lr in "${sweep_lrs[@]}"; do
    run "sweep/$c-lr$lr" --student-channels "${channels[@]}" --stages ts --ts-loss "$c" \
      --lr "$lr" --seed 1 --ts-iterations "$sweep_iterations" \
      --validate-every "$((sweep_iterations / 2))" --eval none --latency-lines 0
    cer=$(best_val_cer "$work/sweep/$c-lr$lr")
    echo "sweep: $c lr $lr: validation CER $cer" >&2
    if [[ -z $best ]] || python3 -c "import sys; sys.exit(not $cer < $best)"; then
      best=$cer lr_of[$c]=$lr
    fi
  done
  echo "sweep: $c takes lr ${lr_of[$c]}" >&2
done

# A teacher-student run at the criterion's swept rate, evaluated on the test
# sets: name, criterion, seed, iterations[, student channels (default: channels)].
ts_run() {
  local name=$1 c=$2 seed=$3 iterations=$4; shift 4
  local student=("${channels[@]}") extra=()
  # [channels...] [-- more ocr-compress options]
  if (($#)) && [[ $1 != -- ]]; then
    student=()
    while (($#)) && [[ $1 != -- ]]; do student+=("$1"); shift; done
  fi
  if (($#)); then shift; extra=("$@"); fi
  run "$name" --student-channels "${student[@]}" --stages ts --ts-loss "$c" --lr "${lr_of[$c]}" \
    --seed "$seed" --ts-iterations "$iterations" --validate-every 1000 --eval "${eval_sets[@]}" \
    --latency-lines 0 "${extra[@]}"
}

# 2. Every criterion at its rate, every seed.
for c in "${criteria[@]}"; do
  for seed in "${seeds[@]}"; do
    ts_run "$c-s$seed" "$c" "$seed" "$ts_iterations"
  done
done

# 2b. The long budget: does the ranking of criteria hold once they converge?
for c in "${long_criteria[@]}"; do
  [[ -n ${lr_of[$c]-} ]] || { echo "LONG_CRITERIA: $c is not in CRITERIA (no swept rate)" >&2; exit 1; }
  for seed in "${long_seeds[@]}"; do
    ts_run "$c-long-s$seed" "$c" "$seed" "$long_iterations"
  done
done

# 2c. The student sized for the speed target, and its CTC fine-tuning.
if ((${#fast_channels[@]})); then
  ts_run "lstm-guided-fast-s${seeds[0]}" lstm-guided "${seeds[0]}" "$long_iterations" \
    "${fast_channels[@]}"
fi

# 3. Tucker-2 of the first seed's LSTM-guided student, fine-tuned under the
#    teacher's guidance; 4. beyond the paper: CTC fine-tuning, DBLSTM unfrozen,
#    of the student and of its Tucker form (labelled rendered lines only).
first=lstm-guided-s${seeds[0]}
run lstm-guided+tucker+ft --student-model "$work/$first/student-ts.ocrm" --stages tucker,finetune \
  --ranks "$ranks" --hooi "$hooi" --finetune-iterations "$ft_iterations" --validate-every 500 \
  --lr "${lr_of[lstm-guided]}" --eval "${eval_sets[@]}" --latency-lines 0
ctc_ft=(--stages finetune --finetune-loss ctc --unfreeze-rnn --lr 3e-4 --validate-every 500
        --finetune-iterations "${CTC_FT_ITERATIONS:-3000}" --eval "${eval_sets[@]}" --latency-lines 0)
run lstm-guided+ctc-ft --student-model "$work/$first/student-ts.ocrm" "${ctc_ft[@]}"
run lstm-guided+tucker+ctc-ft --student-model "$work/lstm-guided+tucker+ft/student-tucker.ocrm" \
  "${ctc_ft[@]}"
if ((${#fast_channels[@]})); then
  run lstm-guided-fast+ctc-ft --student-model "$work/lstm-guided-fast-s${seeds[0]}/student-ts.ocrm" \
    "${ctc_ft[@]}"
fi

# 5. The variant students.
for v in "${variants[@]}"; do
  [[ -n ${variant_args[$v]-} ]] || { echo "VARIANTS: unknown variant '$v'" >&2; exit 1; }
  read -r -a extra <<< "${variant_args[$v]}"
  ts_run "variant-$v" lstm-guided "${seeds[0]}" "$ts_iterations" "${channels[@]}" -- "${extra[@]}"
  read -r -a ft <<< "${variant_ft_args[$v]-"--finetune-iterations $ft_iterations --lr ${lr_of[lstm-guided]}"}"
  run "variant-$v+ft" --student-model "$work/variant-$v/student-ts.ocrm" --stages finetune \
    --validate-every 500 --eval "${eval_sets[@]}" --latency-lines 0 "${ft[@]}"
done

# Speed, side by side: every distinct architecture on the same normalised
# lines (200 of the rendered test set), alternating models within each of
# RUNS rounds so that drift on a shared machine hits them alike.
runs=${RUNS:-5}
names=(teacher student student+tucker)
paths=("$teacher" "$work/$first/student-ts.ocrm" "$work/lstm-guided+tucker+ft/student-finetune.ocrm")
if ((${#fast_channels[@]})); then
  names+=(fast-student) paths+=("$work/lstm-guided-fast-s${seeds[0]}/student-ts.ocrm")
fi
for v in "${variants[@]}"; do
  names+=("variant-$v") paths+=("$work/variant-$v+ft/student-finetune.ocrm")
done
# 200 lines, shared equally by the timing sets.
: > "$work/timing-lines.txt"
for set in "${timing_sets[@]}"; do
  find "$set" -name '*.png' | sort | awk -v n=$((200 / ${#timing_sets[@]})) 'NR <= n' >> "$work/timing-lines.txt"
done
"$build/benchmarks/bench_runtime" --model "$teacher" --export-lines "$work/timing-lines.bin" \
  "@$work/timing-lines.txt" > /dev/null
: > "$work/speed.jsonl"
for ((r = 1; r <= runs; ++r)); do
  for i in "${!names[@]}"; do
    json=$("$build/benchmarks/bench_runtime" --model "${paths[$i]}" --lines "$work/timing-lines.bin" \
      --runs 1 --batches 1,4,8,16 --threads "$threads")
    echo "{\"model\": \"${names[$i]}\", \"result\": $json}" >> "$work/speed.jsonl"
  done
done
: > "$work/size.jsonl"
for i in "${!names[@]}"; do
  info=$("$build/tools/ocr-infer" --info --model "${paths[$i]}")
  params=$(sed -n 's/.*parameters: \([0-9]*\).*/\1/p' <<< "$info")
  gflops=$(sed -n 's/^FLOPs per 32x512 line: \([0-9.]*\) G.*/\1/p' <<< "$info")
  echo "{\"model\": \"${names[$i]}\", \"parameters\": $params, \"gflops\": $gflops}" >> "$work/size.jsonl"
done

# Peers on the test sets in the same run: Tesseract 5 (--psm 7), for the
# digit strings with digits and separators whitelisted, as a user reading
# amounts and dates would set it.
peer_args=() report_peers=()
if command -v tesseract > /dev/null; then
  peer_sets=() tesseract_options=()
  case $table in
    printed) [[ -d $uw3 ]] && peer_sets=("uw3-dev=$uw3") ;;
    handwritten)
      peer_sets=("digits/test=$data/digits/test")
      tesseract_options=(--tesseract-whitelist "0123456789 .,-/")
      ;;
  esac
  for spec in "${peer_sets[@]}"; do
    name=${spec%%=*} dir=${spec#*=}
    file=$work/tesseract-${name//\//-}.jsonl
    /usr/bin/python3 "$root/benchmarks/peers/ocr_level.py" "$dir" --tesseract \
      "${tesseract_options[@]}" --runs 1 > "$file"
    peer_args+=(--peer "$name=$file") report_peers+=(--peers "$name=$file")
  done
fi

lrs=""
fast_args=()
((${#fast_channels[@]} == 0)) || fast_args=(--fast "lstm-guided-fast-s${seeds[0]}" --fast-channels "${fast_channels[*]}")
for c in "${criteria[@]}"; do lrs+="${lrs:+, }\"$c\": \"${lr_of[$c]}\""; done
variant_flags=()
for v in "${variants[@]}"; do
  ft_label="fine-tuning"
  [[ -n ${variant_ft_args[$v]-} ]] && ft_label="CTC fine-tuning, DBLSTM unfrozen"
  variant_flags+=(--variant "$v=${variant_labels[$v]}=$ft_label")
done
python3 "$root/benchmarks/compress_table.py" --work "$work" --out "$out" --lrs "{$lrs}" \
  --title "$title" --criteria "${criteria[@]}" --seeds "${seeds[@]}" \
  --sweep "${sweep_lrs[*]} x $sweep_iterations" --ts-iterations "$ts_iterations" \
  --long-criteria "${long_criteria[@]}" --long-iterations "$long_iterations" \
  --long-seeds "${long_seeds[@]}" "${fast_args[@]}" --ft-iterations "$ft_iterations" \
  --ranks "$ranks" --hooi "$hooi" --runs "$runs" "${peer_args[@]}" "${variant_flags[@]}"

# The report with plots (one HTML file): every row against size and speed,
# the Tucker run's spectra and every stage's curves, the peers.
fast_runs=()
((${#fast_channels[@]} == 0)) || fast_runs=("$work/lstm-guided-fast-s${seeds[0]}")
/usr/bin/python3 "$root/scripts/compress-report.py" -o "$report" \
  --title "ocrcore compression report: $title" --table "$work/table.json" "${report_peers[@]}" \
  "$work/$first" "$work/lstm-guided+tucker+ft" "$work/lstm-guided+ctc-ft" "${fast_runs[@]}"

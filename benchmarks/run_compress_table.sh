#!/usr/bin/env bash
# The paper's comparison on our printed-English teacher (DESIGN.md 3-4, issue
# "ocr-compress"): students of the same size trained by CTC alone, by plain
# feature matching (l2), by frame-level KL, by the LSTM-guided loss, and the
# LSTM-guided student after Tucker-2 and fine-tuning. Each row is one
# ocr-compress run; the table (parameters, footprint reduction, FLOPs,
# speedup at one thread and all threads, CER on the rendered test set and on
# ../shared/data/uw3-dev/test) goes to benchmarks/results/compress.md.
#
#   benchmarks/run_compress_table.sh [TEACHER.ocrm]
# Environment: WIDTH (student width multiplier, 0.25), TS_ITERATIONS (3000),
# FT_ITERATIONS (1500), RANKS (budget:flops=0.5), WORK (runs/compress-table).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
teacher=${1:-$root/models/teacher-printed.ocrm}
work=${WORK:-$root/runs/compress-table}
data=${TEACHER_DATA:-$root/runs/teacher/data}
width=${WIDTH:-0.25}
ts_iterations=${TS_ITERATIONS:-3000}
ft_iterations=${FT_ITERATIONS:-1500}
ranks=${RANKS:-budget:flops=0.5}
threads=$(nproc)
uw3=$root/../shared/data/uw3-dev/test
out=$root/benchmarks/results/compress.md

[[ -f $teacher ]] || { echo "no teacher at $teacher (scripts/train-teacher.sh makes it)" >&2; exit 1; }
[[ -d $data/train ]] || { echo "no rendered data in $data (scripts/train-teacher.sh renders it)" >&2; exit 1; }
"$root/scripts/build.sh" > /dev/null
eval_sets=("$data/test")
[[ -d $uw3 ]] && eval_sets+=("$uw3")

common=(--teacher "$teacher" --width "$width" --train "$data/train" --val "$data/val" --max-val-lines 500
        --eval "${eval_sets[@]}" --ts-iterations "$ts_iterations" --finetune-iterations "$ft_iterations"
        --ranks "$ranks" -t "$threads" --latency-lines 100 -q)
run() {  # name, extra args
  local name=$1; shift
  local resume=()
  [[ -d $work/$name ]] && resume=(--resume)
  echo "== $name" >&2
  "$build/tools/ocr-compress" "${common[@]}" --run-dir "$work/$name" "${resume[@]}" "$@" >&2
}
run ctc --stages ts --ts-loss ctc
run l2 --stages ts --ts-loss l2
run kl --stages ts --ts-loss kl
run lstm-guided --stages ts,tucker,finetune --ts-loss lstm-guided

# Throughput with all threads: lines/s over the rendered test set, same batch.
throughput() {
  "$build/tools/ocr-infer" -q -t "$threads" -b 16 --model "$1" "$data/test" 2>&1 |
    sed -n 's/.*ms\/line, \([0-9.]*\) lines\/s.*/\1/p'
}

python3 - "$work" "$out" "$teacher" "$ts_iterations" "$ft_iterations" "$width" "$ranks" <<'PY' "$(throughput "$teacher")" \
  "$(throughput "$work/ctc/student-ts.ocrm")" "$(throughput "$work/l2/student-ts.ocrm")" \
  "$(throughput "$work/kl/student-ts.ocrm")" "$(throughput "$work/lstm-guided/student-ts.ocrm")" \
  "$(throughput "$work/lstm-guided/student-finetune.ocrm")"
import json, sys
work, out, teacher, ts_it, ft_it, width, ranks = sys.argv[1:8]
tput = [float(x or 0) for x in sys.argv[8:14]]
rows = []
def rep(name):
    return json.load(open(f"{work}/{name}/report.json"))["models"]
t = rep("lstm-guided")[0]
rows.append(("teacher", t, tput[0]))
for i, (label, name) in enumerate([("student, CTC only", "ctc"), ("student, l2", "l2"), ("student, kl", "kl"),
                                   ("student, lstm-guided", "lstm-guided")]):
    rows.append((label, rep(name)[1], tput[1 + i]))
rows.append(("lstm-guided + Tucker + fine-tuning", rep("lstm-guided")[-1], tput[5]))
sets = list(t["errors"].keys())
lines = ["# Teacher-student learning and Tucker-2 on the printed-English teacher", "",
         f"Command: `benchmarks/run_compress_table.sh` (width {width}, {ts_it} teacher-student iterations, "
         f"{ft_it} fine-tuning iterations, ranks `{ranks}`). Latency: one thread, batch 1, median of 5 over 100 "
         "lines; throughput: all threads, batch 16, rendered test set.", "",
         "| model | parameters | footprint reduction | GFLOP (32x512) | speedup, 1 thread | speedup, all threads | " +
         " | ".join(f"CER {s}" for s in sets) + " |",
         "|---|---:|---:|---:|---:|---:|" + "---:|" * len(sets)]
for label, m, tp in rows:
    sp_all = tp / tput[0] if tput[0] and tp else 0
    lines.append(f"| {label} | {m['parameters']:,} | {m['footprint_reduction']:.2f}x | {m['gflops_32x512']:.3f} | "
                 f"{t['latency_ms_per_line'] / m['latency_ms_per_line']:.2f}x | {sp_all:.2f}x | " +
                 " | ".join(f"{100 * m['errors'][s]['cer']:.2f}%" for s in sets) + " |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY

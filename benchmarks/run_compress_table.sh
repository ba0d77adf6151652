#!/usr/bin/env bash
# The paper's comparison on our printed-English teacher (DESIGN.md 3-4, issue
# "ocr-compress"): students of the same size trained by CTC alone, by plain
# feature matching (l2), by frame-level KL, by the LSTM-guided loss, and the
# LSTM-guided student after Tucker-2 and fine-tuning; then two rows beyond
# the paper's recipe (CTC fine-tuning with the DBLSTM unfrozen). Each row is
# one ocr-compress run; the table (parameters, footprint reduction, FLOPs,
# speedup at one thread and all threads, CER on the rendered test set and on
# ../shared/data/uw3-dev/test) goes to benchmarks/results/compress.md, and
# with plots to benchmarks/results/compress-report.html (scripts/compress-report.py).
#
#   benchmarks/run_compress_table.sh [TEACHER.ocrm]
# Environment: RUNS (speed rounds, 5), STUDENT_CHANNELS (per-layer student channels, default below) or
# WIDTH (a width multiplier instead), TS_ITERATIONS (4000),
# FT_ITERATIONS (1500), CTC_FT_ITERATIONS (3000), RANKS (budget:flops=0.5), WORK (runs/compress-table).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
teacher=${1:-$root/models/teacher-printed.ocrm}
work=${WORK:-$root/runs/compress-table}
data=${TEACHER_DATA:-$root/runs/teacher/data}
# Narrow early layers (they run at full resolution) and the teacher's feature
# dimension at the end: 16x smaller than the teacher, ~27x fewer FLOPs.
channels=${STUDENT_CHANNELS:-8 16 16 16 32 32 64 64 128 128}
student=(--student-channels $channels)
[[ -n ${WIDTH:-} ]] && student=(--width "$WIDTH")
ts_iterations=${TS_ITERATIONS:-4000}
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

common=(--teacher "$teacher" --val "$data/val" --max-val-lines 500
        --eval "${eval_sets[@]}" --ts-iterations "$ts_iterations" --ranks "$ranks" -t "$threads"
        --latency-lines 100 -q)
# The CTC fine-tuning rows train on the labelled rendered lines (uw3-dev is the
# real-scan development set: scored, never trained on).
ctc_ft=(--stages finetune --finetune-loss ctc --unfreeze-rnn --lr 3e-4
        --finetune-iterations "${CTC_FT_ITERATIONS:-3000}" --train "$data/train")
run() {  # name, extra args
  local name=$1; shift
  local resume=()
  # A finished run (its report written) is kept; an interrupted one resumes.
  [[ -f $work/$name/report.json ]] && { echo "== $name: done before, kept" >&2; return; }
  [[ -d $work/$name ]] && resume=(--resume)
  echo "== $name" >&2
  "$build/tools/ocr-compress" "${common[@]}" --run-dir "$work/$name" "${resume[@]}" "$@" >&2
}
run lstm-guided "${student[@]}" --train "$data/train" --stages ts,tucker,finetune --ts-loss lstm-guided \
  --finetune-iterations "$ft_iterations"
run l2 "${student[@]}" --train "$data/train" --stages ts --ts-loss l2
run kl "${student[@]}" --train "$data/train" --stages ts --ts-loss kl
run ctc "${student[@]}" --train "$data/train" --stages ts --ts-loss ctc
# Beyond the paper's recipe: the lstm-guided student, and its Tucker form,
# fine-tuned whole (DBLSTM unfrozen) with CTC instead of the frozen-DBLSTM
# feature loss.
run lstm-guided+ctc-ft --student-model "$work/lstm-guided/student-ts.ocrm" "${ctc_ft[@]}"
run lstm-guided+tucker+ctc-ft --student-model "$work/lstm-guided/student-tucker.ocrm" "${ctc_ft[@]}"

# Speed, side by side: every model on the same normalised lines (200 of the
# rendered test set), alternating models within each of RUNS rounds so that
# drift on a shared machine hits them alike; medians per model.
runs=${RUNS:-5}
names=(teacher ctc l2 kl lstm-guided lstm-guided+tucker+ft lstm-guided+ctc-ft lstm-guided+tucker+ctc-ft)
paths=("$teacher" "$work/ctc/student-ts.ocrm" "$work/l2/student-ts.ocrm" "$work/kl/student-ts.ocrm"
       "$work/lstm-guided/student-ts.ocrm" "$work/lstm-guided/student-finetune.ocrm"
       "$work/lstm-guided+ctc-ft/student-finetune.ocrm" "$work/lstm-guided+tucker+ctc-ft/student-finetune.ocrm")
find "$data/test" -name '*.png' | sort | awk 'NR <= 200' > "$work/timing-lines.txt"
"$build/benchmarks/bench_runtime" --model "$teacher" --export-lines "$work/timing-lines.bin" \
  "@$work/timing-lines.txt" > /dev/null
: > "$work/speed.jsonl"
for ((r = 1; r <= runs; ++r)); do
  for i in "${!names[@]}"; do
    echo "== speed round $r/$runs: ${names[$i]}" >&2
    json=$("$build/benchmarks/bench_runtime" --model "${paths[$i]}" --lines "$work/timing-lines.bin" \
      --runs 1 --batches 1,4,8,16 --threads "$threads")
    echo "{\"model\": \"${names[$i]}\", \"result\": $json}" >> "$work/speed.jsonl"
  done
done

# Size and accuracy of every model, from ocr-infer itself (greedy decoding).
: > "$work/accuracy.jsonl"
for i in "${!names[@]}"; do
  info=$("$build/tools/ocr-infer" --info --model "${paths[$i]}")
  params=$(sed -n 's/.*parameters: \([0-9]*\).*/\1/p' <<< "$info")
  gflops=$(sed -n 's/^FLOPs per 32x512 line: \([0-9.]*\) G.*/\1/p' <<< "$info")
  cers=""
  for set in "${eval_sets[@]}"; do
    echo "== accuracy: ${names[$i]} on $set" >&2
    cer=$("$build/tools/ocr-infer" -q -t "$threads" --model "${paths[$i]}" "$set" 2>&1 |
      sed -n 's/.*CER \([0-9.]*\)%.*/\1/p')
    label="$(basename "$(dirname "$set")") $(basename "$set")"
    [[ $set == "$data/test" ]] && label="rendered test"
    cers+="${cers:+, }\"$label\": ${cer:-null}"
  done
  echo "{\"model\": \"${names[$i]}\", \"parameters\": $params, \"gflops\": $gflops, \"cer\": {$cers}}" \
    >> "$work/accuracy.jsonl"
done

python3 - "$work" "$out" "$ts_iterations" "$ft_iterations" "$ranks" "$runs" \
  "${common[*]} ${student[*]} --train $data/train" "$root" <<'PY'
import json, statistics, sys
work, out, ts_it, ft_it, ranks, runs, common, root = sys.argv[1:9]
common = common.replace(root + "/", "")
speed = {}
for line in open(f"{work}/speed.jsonl"):
    d = json.loads(line)
    speed.setdefault(d["model"], []).append(d["result"])
def med(name, key):
    return statistics.median(r[key] for r in speed[name])
acc = {}
for line in open(f"{work}/accuracy.jsonl"):
    d = json.loads(line)
    acc[d["model"]] = d
rows = [("teacher", "teacher"), ("student, CTC only", "ctc"), ("student, l2", "l2"), ("student, kl", "kl"),
        ("student, lstm-guided", "lstm-guided"), ("lstm-guided + Tucker + fine-tuning", "lstm-guided+tucker+ft"),
        ("lstm-guided + CTC fine-tuning, DBLSTM unfrozen *", "lstm-guided+ctc-ft"),
        ("lstm-guided + Tucker + CTC fine-tuning, DBLSTM unfrozen *", "lstm-guided+tucker+ctc-ft")]
t = acc["teacher"]
sets = list(t["cer"].keys())
lat_t, tp_t = med("teacher", "latency_ms"), med("teacher", "throughput_lines_per_s")
lines = ["# Teacher-student learning and Tucker-2 on the printed-English teacher", "",
         f"`benchmarks/run_compress_table.sh`: every student has the same CNN ({ts_it} teacher-student "
         f"iterations of 16 lines; the DBLSTM and output layer are the teacher's, frozen); Tucker ranks "
         f"`{ranks}`, then {ft_it} fine-tuning iterations with the LSTM-guided loss.", "",
         f"Speed: `bench_runtime` on 200 rendered test lines, models alternated in each of {runs} rounds, "
         "medians. Latency: batch 1, one thread. Throughput: all threads, best of batch 1/4/8/16. "
         "Speedup = teacher time / model time in the same run. CER: greedy decoding (DESIGN.md), in "
         "brackets the difference to the teacher in points. Footprint: fp32 parameters.", "",
         "| model | parameters | footprint reduction | GFLOP (32x512) | latency ms | speedup, 1 thread | "
         "lines/s, all threads | speedup, all threads | " + " | ".join(f"CER {s}" for s in sets) + " |",
         "|---|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(sets)]
table = {"sets": sets, "rows": []}
for label, name in rows:
    m = acc[name]
    lat, tp = med(name, "latency_ms"), med(name, "throughput_lines_per_s")
    table["rows"].append({"label": label, "name": name, "parameters": m["parameters"],
                          "footprint_reduction": t["parameters"] / m["parameters"],
                          "latency_ms": lat, "speedup": lat_t / lat, "lines_per_s": tp,
                          "cer": m["cer"]})
    cer = " | ".join(f"{m['cer'][s]:.2f}% ({m['cer'][s] - t['cer'][s]:+.2f})" for s in sets)
    lines.append(f"| {label} | {m['parameters']:,} | {t['parameters'] / m['parameters']:.2f}x | {m['gflops']:.3f} | "
                 f"{lat:.2f} | {lat_t / lat:.2f}x | {tp:.1f} | {tp / tp_t:.2f}x | {cer} |")
lines += ["", "\\* Beyond the paper's recipe: the lstm-guided student (or its Tucker form) fine-tuned "
          "whole, DBLSTM and output layer included, with CTC on the labelled rendered training "
          "lines.", "",
          "Training arguments common to every row: `" + common + "`.", "",
          "Tucker-2 of the lstm-guided student, per layer (kernel error: relative Frobenius error of the "
          "reconstructed kernel before fine-tuning):", "",
          "| layer | method | ranks | parameters before | after | MFLOP before | after | kernel error |",
          "|---|---|---|---:|---:|---:|---:|---:|"]
for l in json.load(open(f"{work}/lstm-guided/report.json")).get("decomposition", []):
    lines.append(f"| {l['layer']} | {l['method']} | {l['ranks'][0]}, {l['ranks'][1]} | {l['params_before']:,} | "
                 f"{l['params_after']:,} | {l['flops_before'] / 1e6:.1f} | {l['flops_after'] / 1e6:.1f} | "
                 f"{l['relative_error']:.3f} |")
open(out, "w").write("\n".join(lines) + "\n")
json.dump(table, open(f"{work}/table.json", "w"), indent=1)
print("\n".join(lines))
PY

# The report with plots (one HTML file): every row against size and speed,
# the lstm-guided run's stages and Tucker spectra, Tesseract on uw3-dev.
peers=()
if [[ -d $uw3 ]] && command -v tesseract > /dev/null; then
  /usr/bin/python3 "$root/benchmarks/peers/ocr_level.py" "$uw3" --tesseract --runs 1 \
    > "$work/tesseract-uw3.jsonl"
  peers=(--peers "uw3-dev test=$work/tesseract-uw3.jsonl")
fi
/usr/bin/python3 "$root/scripts/compress-report.py" -o "$root/benchmarks/results/compress-report.html" \
  --table "$work/table.json" "${peers[@]}" "$work/lstm-guided"

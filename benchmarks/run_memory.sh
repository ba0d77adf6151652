#!/usr/bin/env bash
# Memory and start-up of ocr-infer against its peers, side by side in one
# run on the same lines. Writes benchmarks/results/memory.md.
#
#   benchmarks/run_memory.sh
#   RUNS=5 MODELS="compact=models/compact-printed.ocrm" benchmarks/run_memory.sh
#
# - Peak resident memory of the whole process (wait4's ru_maxrss, median of
#   RUNS runs) reading at least 500 real scanned lines (the lines of ../shared/data/uw3-dev
#   repeated; the project's rendered samples when that is absent), one and two
#   threads, for each model and for Tesseract 5 (eng, --psm 7, one thread) on
#   the same list (benchmarks/peers/ocr_level.py, which also scores the texts).
# - ONNX Runtime (onnxruntime-node from tests/onnx) on the same lines
#   normalised, the model exported by ocr-convert: peak of its process
#   (node included) for the latency and throughput protocol of
#   peers/ort_runtime.js at batch 4.
# - Start-up: one line from process start to exit, median of STARTUP_RUNS.
# - Weight memory: bytes of prepared weights with 1 and with 8 Recognizers
#   on one model (bench_runtime --weight-memory).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
work=$build/bench-memory
runs=${RUNS:-3}
startup_runs=${STARTUP_RUNS:-11}
models=${MODELS:-"compact=$root/models/compact-printed.ocrm teacher=$root/models/teacher-printed.ocrm"}
shared=$root/../shared/data/uw3-dev
mkdir -p "$work"
cmake --build "$build" --target bench_runtime ocr-convert ocr-infer >/dev/null

lines_dir=$shared
if [[ ! -d $shared ]]; then
  echo "run_memory: ../shared/data absent: the rendered samples in models/samples instead" >&2
  lines_dir=$root/models/samples
fi
have_tess=0; command -v tesseract >/dev/null && have_tess=1
have_ort=0
if command -v node >/dev/null && [[ -d $root/tests/onnx/node_modules/onnxruntime-node ]]; then
  have_ort=1
else
  echo "run_memory: node or tests/onnx/node_modules absent (npm ci in tests/onnx): no ONNX Runtime" >&2
fi
export NODE_PATH=$root/tests/onnx/node_modules

results=$work/results.jsonl
: > "$results"
model_args=()
for m in $models; do model_args+=(--model "${m%%=*}=${m#*=}"); done
tess_arg=(); (( have_tess )) && tess_arg=(--tesseract)
for threads in 1 2; do
  echo "== 500 lines, $threads thread(s)" >&2
  # Tesseract once, at one thread: its OpenMP threads spin-wait, which on a
  # shared machine makes a two-thread run crawl without changing its memory.
  peers=(); (( threads == 1 )) && peers=("${tess_arg[@]}")
  /usr/bin/python3 "$root/benchmarks/peers/ocr_level.py" "$lines_dir" "${peers[@]}" \
    --ocr-infer "$build/tools/ocr-infer" "${model_args[@]}" --runs "$runs" \
    --threads "$threads" --min-lines 500 |
    sed 's/^{/{"protocol": "lines", /' >> "$results"
done
echo "== start-up" >&2
/usr/bin/python3 "$root/benchmarks/peers/ocr_level.py" "$lines_dir" "${tess_arg[@]}" \
  --ocr-infer "$build/tools/ocr-infer" "${model_args[@]}" --runs "$startup_runs" \
  --threads 1 --min-lines 1 --limit 1 |
  sed 's/^{/{"protocol": "startup", /' >> "$results"

for m in $models; do
  name=${m%%=*}; path=${m#*=}
  lines=$work/$name.bin
  "$build/benchmarks/bench_runtime" --model "$path" --export-lines "$lines" "$lines_dir" >/dev/null
  echo "== $name: weight memory" >&2
  "$build/benchmarks/bench_runtime" --model "$path" --lines "$lines" --weight-memory 8 |
    sed "s/^{/{\"model\": \"$name\", /" >> "$results"
  if (( have_ort )); then
    "$build/tools/ocr-convert" "$path" "$work/$name.onnx" >/dev/null
    for threads in 1 2; do
      echo "== $name: ONNX Runtime, $threads thread(s)" >&2
      /usr/bin/python3 - "$work/$name.onnx" "$lines" "$threads" "$name" "$root" >> "$results" <<'PY'
import json, os, subprocess, sys
onnx, lines, threads, name, root = sys.argv[1:]
proc = subprocess.Popen(["node", os.path.join(root, "benchmarks/peers/ort_runtime.js"), onnx,
                         lines, "4", "1", threads], stdout=subprocess.PIPE)
out = proc.stdout.read()
_, status, usage = os.wait4(proc.pid, 0)
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit(f"ort_runtime.js failed on {onnx}")
print(json.dumps({"protocol": "ort", "engine": "onnxruntime", "model": name,
                  "threads": int(threads), "peak_rss_mb": usage.ru_maxrss / 1024}))
PY
    done
  fi
done

/usr/bin/python3 - "$results" "$root/benchmarks/results/memory.md" "$runs" "$startup_runs" <<'PY'
import json, os, sys, tempfile
rows = [json.loads(l) for l in open(sys.argv[1])]
runs, startup_runs = sys.argv[3], sys.argv[4]
def label(r):
    return r.get("model") and f"ocrcore {r['model']}" or r["engine"]
out = ["# Memory and start-up", "",
       "Written by `benchmarks/run_memory.sh`; every figure of a table measured in the same run,",
       "on the same lines. Peak memory is the whole process's maximum resident set (ru_maxrss).", ""]
lines = [r for r in rows if r.get("protocol") == "lines"]
if lines:
    n = lines[0]["lines"] * lines[0]["repeat"]
    out += [f"## Reading {n} scanned lines ({lines[0]['lines']} images repeated), median of {runs} runs", "",
            "| engine | threads | peak RSS (MB) | CER |", "|---|---:|---:|---:|"]
    for r in lines:
        out.append(f"| {label(r)} | {r['threads']} | {r['peak_rss_mb']:.1f} | "
                   f"{100 * r['cer']:.2f}% |")
    out += ["", "(Speed is measured by run_runtime.sh; CER shows that each engine read the lines.)"]
    out.append("")
ort = [r for r in rows if r.get("protocol") == "ort"]
if ort:
    out += ["## ONNX Runtime on the same lines normalised (node process, batch 4)", "",
            "| model | threads | peak RSS (MB) |", "|---|---:|---:|"]
    for r in ort:
        out.append(f"| {r['model']} | {r['threads']} | {r['peak_rss_mb']:.1f} |")
    out.append("")
start = [r for r in rows if r.get("protocol") == "startup"]
if start:
    out += [f"## Start-up: one line, process start to exit, median of {startup_runs} runs", "",
            "| engine | ms | peak RSS (MB) |", "|---|---:|---:|"]
    for r in start:
        ms = sorted(r["seconds"])[len(r["seconds"]) // 2] * 1e3
        out.append(f"| {label(r)} | {ms:.0f} | {r['peak_rss_mb']:.1f} |")
    out.append("")
weights = [r for r in rows if r.get("engine") == "ocrcore-weight-memory"]
if weights:
    out += ["## Prepared weights shared by all Recognizers on one model", "",
            "| model | fp32 weights (MB) | prepared, 1 Recognizer (MB) | prepared, 8 Recognizers (MB) |",
            "|---|---:|---:|---:|"]
    for r in weights:
        b = r["prepared_bytes_by_recognizers"]
        out.append(f"| {r['model']} | {r['fp32_weight_bytes'] / 1e6:.1f} | {b['1'] / 1e6:.1f} | "
                   f"{b['8'] / 1e6:.1f} |")
    out.append("")
target = sys.argv[2]
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target))
with os.fdopen(fd, "w") as f:
    f.write("\n".join(out))
os.replace(tmp, target)
print("\n".join(out))
PY

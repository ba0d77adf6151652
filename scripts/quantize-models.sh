#!/usr/bin/env bash
# Writes the quantised forms of models (by default the bundled teacher and
# compact model) into OUT_DIR (default build/quantized), with one command:
#
#   NAME-int8.ocrm  weights ocrcore runs in int8 stored as I8 with a scale per
#                   row: a quarter of the size; read exactly as the fp32 file
#                   reads with int8 arithmetic (ocr-infer's default where the
#                   CPU has AVX-512 VNNI)
#   NAME-bf16.ocrm  every weight matrix stored as BF16: half the size; runs
#                   with bf16 convolutions by default where the CPU has
#                   AVX-512 BF16 (accuracy as fp32's, no calibration)
#   NAME-int8.onnx  the int8 weights in QDQ form for ONNX Runtime, activation
#                   scales calibrated on 100 lines rendered here (never the
#                   lines anything is evaluated on)
#
#   scripts/quantize-models.sh
#   scripts/quantize-models.sh OUT_DIR runs/x/best.ocrm ...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
out=${1:-$build/quantized}
shift || true
models=("$@")
((${#models[@]})) || models=("$root/models/teacher-printed.ocrm" "$root/models/compact-printed.ocrm")

cmake --build "$build" --target ocr-convert ocr-synth > /dev/null
mkdir -p "$out"
calibration=$out/calibration-lines
if [[ ! -f $calibration/.complete ]]; then
  "$build/tools/ocr-synth" --corpus /usr/share/common-licenses -o "$calibration" --count 100 \
    --seed 9101 --height 48 --degrade 0.3 -q
  touch "$calibration/.complete"
fi
for model in "${models[@]}"; do
  name=$(basename "$model" .ocrm)
  "$build/tools/ocr-convert" "$model" "$out/$name-int8.ocrm" --quantize int8
  "$build/tools/ocr-convert" "$model" "$out/$name-bf16.ocrm" --quantize bf16
  "$build/tools/ocr-convert" "$model" "$out/$name-int8.onnx" --quantize int8 \
    --calibrate "$calibration"
done
ls -l "$out"/*.ocrm "$out"/*.onnx

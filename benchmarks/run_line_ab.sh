#!/usr/bin/env bash
# A/B of what makes rendered training lines read real scans: the same small
# model (benchmarks/arch/pilot-printed.json, the compact model's CNN widths
# under the teacher's DBLSTM) trained from scratch for the same number of
# steps, seed and schedule under each recipe, then scored on held-out
# rendered lines of both styles and on the 70 real scanned lines of
# ../shared/data/uw3-dev (never trained on, never used to choose a model: the
# model kept is the one with the best rendered validation CER).
#
#   recipe          lines rendered as                       corpus           geometry
#   grey-scale      grey, fixed height 48 (previous recipe)  licence texts    scale_crop
#   grey-center     grey, fixed height 48                    licence texts    center_text
#   scan-center     scan-like (scripts/train-teacher.sh)     perl-doc+licences center_text
#   scan-scale      scan-like                                perl-doc+licences scale_crop
#
# Writes benchmarks/results/line_ab.md. ITERATIONS (default 3000), LINES
# (training lines per recipe, default 40000), RECIPES (default all four).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
work=${AB_WORK_DIR:-$root/runs/line_ab}
iterations=${ITERATIONS:-3000}
lines=${LINES:-40000}
recipes=(${RECIPES:-grey-scale grey-center scan-center scan-scale})
threads=${THREADS:-$(nproc)}
uw3=$root/../shared/data/uw3-dev
out=$root/benchmarks/results/line_ab.md

"$root/scripts/setup-deps.sh" --training-data > /dev/null
[[ -d $work/corpus/train ]] || "$root/scripts/make-corpus.sh" "$work/corpus"
source "$root/scripts/scan-lines.sh"
old_fonts=(/usr/share/fonts/opentype/urw-base35 /usr/share/fonts/truetype/liberation2
  /usr/share/fonts/truetype/dejavu /usr/share/fonts/truetype/freefont)

render() {  # style name count seed corpus-part
  local dir=$work/data/$1-$2
  if scan_lines_current "$dir"; then return; fi
  rm -rf "$dir"
  if [[ $1 == grey ]]; then
    "$build/tools/ocr-synth" --corpus /usr/share/common-licenses "$root/docs" \
      --fonts "${old_fonts[@]}" -o "$dir" --count "$3" --seed "$4" --height 48 --degrade 0.3 \
      -t "$threads" -q
  else
    "$build/tools/ocr-synth" --corpus "$work/corpus/$5" --fonts "${scan_fonts[@]}" -o "$dir" \
      --count "$3" --seed "$4" "${scan_synth_options[@]}" -t "$threads" -q
  fi
  scan_lines_mark "$dir"
}
for style in grey scan; do
  render $style train "$lines" 101 train
  render $style val 500 102 val
  render $style test 1000 103 test
done

cer() {  # model dir -> "CER% (errors/chars)"
  "$build/tools/ocr-infer" -q -t "$threads" --model "$1" "$2" 2>&1 > /dev/null |
    sed -n 's/.*CER \([0-9.]*%\) (\([0-9]*\/[0-9]*\) chars).*/\1 (\2)/p'
}

{
  echo "# Line preparation A/B (benchmarks/run_line_ab.sh)"
  echo
  echo "Model benchmarks/arch/pilot-printed.json, $iterations steps of batch 16 from scratch (seed 1,"
  echo "lr 1e-3, cosine), $lines rendered training lines per recipe; greedy decoding. The model"
  echo "kept is the best on 500 rendered validation lines of its own style."
  echo
  echo "| recipe | CER rendered test, grey (1,000) | CER rendered test, scan-like (1,000) | CER uw3-dev (70 real lines) | time |"
  echo "|---|---:|---:|---:|---:|"
} > "$out.tmp"
for recipe in "${recipes[@]}"; do
  style=${recipe%%-*}
  geometry=center_text
  [[ $recipe == *-scale ]] && geometry=scale_crop
  run=$work/runs/$recipe
  resume=()
  [[ -f $run/checkpoint.ckpt ]] && resume=(--resume)
  start=$(date +%s)
  "$build/tools/ocr-train" --arch "$root/benchmarks/arch/pilot-printed.json" \
    --normalization $geometry --train "$work/data/$style-train" --val "$work/data/$style-val" \
    --run-dir "$run" "${resume[@]}" --iterations "$iterations" -b 16 --lr 1e-3 --warmup 300 \
    --decay cosine --final-lr-ratio 0.02 --clip 20 --validate-every 500 --checkpoint-every 500 \
    --log-every 250 --seed 1 -t "$threads" -q
  minutes=$((($(date +%s) - start) / 60))
  uw3_cer="(no data)"
  [[ -d $uw3 ]] && uw3_cer=$(cer "$run/best.ocrm" "$uw3")
  echo "| $recipe | $(cer "$run/best.ocrm" "$work/data/grey-test") |" \
    "$(cer "$run/best.ocrm" "$work/data/scan-test") | $uw3_cer | ${minutes} min |" >> "$out.tmp"
  tail -1 "$out.tmp"
done
mv "$out.tmp" "$out"
cat "$out"

#!/usr/bin/env bash
# Reading turned lines (ocr-infer --orientation auto, the default) against
# reading every line as given (--orientation upright), side by side:
#
#   - cost on upright lines: lines/s of ocr-infer -t 1 on 1,000 rendered
#     scan-like test lines (their own corpus part and seed) and on
#     ../shared/data/uw3-dev when present (each list repeated to MIN_LINES),
#     the two settings alternating in each of ROUNDS rounds, medians; the
#     share of lines read twice;
#   - accuracy: CER of the same rendered lines turned by 90, 180 and 270
#     degrees, read with each setting, and the share given the right turn.
#
# Writes benchmarks/results/orientation.md.
#
#   benchmarks/run_orientation.sh [MODEL.ocrm]      # default: the bundled compact model
#   ROUNDS=9 MIN_LINES=8000 benchmarks/run_orientation.sh   # (7, 4000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
model=${1:-$root/models/compact-printed.ocrm}
work=${ORIENTATION_WORK_DIR:-$root/runs/orientation}
rounds=${ROUNDS:-7}
min_lines=${MIN_LINES:-4000}
uw3=$root/../shared/data/uw3-dev
out=$root/benchmarks/results/orientation.md

"$root/scripts/build.sh" > /dev/null
source "$root/benchmarks/common.sh"
# scripts/make-corpus.sh's corpus: deterministic, any copy will do.
scan_test_lines "$work/upright" "${CORPUS_DIR:-$work/corpus}"
# The same lines turned clockwise (PIL; the transcriptions beside them).
for turn in 90 180 270; do
  [[ -f $work/turned-$turn/.done ]] && continue
  rm -rf "$work/turned-$turn"
  /usr/bin/python3 - "$work/upright" "$work/turned-$turn" "$turn" << 'EOF'
import os, shutil, sys
from PIL import Image
src, dst, turn = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(dst)
for name in sorted(os.listdir(src)):
    if name.endswith(".png"):
        im = Image.open(os.path.join(src, name))
        # PIL turns anticlockwise for positive angles.
        im.rotate(-turn, expand=True, fillcolor=255 if im.mode in ("L", "1") else None).save(
            os.path.join(dst, name))
    elif name.endswith(".gt.txt"):
        shutil.copy(os.path.join(src, name), os.path.join(dst, name))
EOF
  touch "$work/turned-$turn/.done"
done

infer=("$build/tools/ocr-infer" -q -m "$model" -t 1)
# CER (%) and lines/s of one ocr-infer run, from its summary.
summary() {
  "${infer[@]}" "$@" -o /dev/null 2>&1 |
    awk '/lines\/s/ { for (i = 1; i <= NF; ++i) if ($i == "lines/s") rate = $(i - 1) }
         /CER/ { for (i = 1; i <= NF; ++i) if ($i == "CER") cer = $(i + 1) }
         END { gsub("%", "", cer); print (cer == "" ? "nan" : cer), rate }'
}
# Of the lines of $1 read with --orientation auto: the share given turn $2,
# and the share read twice (doubted: their upright reading's characters'
# mean confidence below 0.93, src/runtime/image/orientation.hpp).
turn_stats() {
  "${infer[@]}" --format jsonl "$1" |
    /usr/bin/python3 -c 'import json, sys
rows = [json.loads(l) for l in sys.stdin]
def doubted(r):
    c = [ch["confidence"] for ch in r["chars"]]
    return r["rotation"] != 0 or not c or sum(c) / len(c) < 0.93
right = sum(r["rotation"] == int(sys.argv[1]) for r in rows)
print(f"{100 * right / len(rows):.1f} {100 * sum(map(doubted, rows)) / len(rows):.1f}")' "$2"
}

sets=("rendered=$work/upright")
[[ -d $uw3 ]] && sets+=("uw3-dev=$uw3")
declare -A rate_of cer_of ratio_of
for ((r = 1; r <= rounds; ++r)); do
  for s in "${sets[@]}"; do
    name=${s%%=*} dir=${s#*=}
    list=$work/$name.list
    repeated_image_list "$dir" "$list" "$min_lines"
    # Which goes first alternates: neither setting always meets a warmer machine.
    if ((r % 2)); then
      read -r cer_auto rate_auto <<< "$(summary --orientation auto "@$list")"
      read -r cer_up rate_up <<< "$(summary --orientation upright "@$list")"
    else
      read -r cer_up rate_up <<< "$(summary --orientation upright "@$list")"
      read -r cer_auto rate_auto <<< "$(summary --orientation auto "@$list")"
    fi
    rate_of[$name auto]+="$rate_auto " rate_of[$name upright]+="$rate_up "
    cer_of[$name auto]=$cer_auto cer_of[$name upright]=$cer_up
    ratio_of[$name]+="$(awk -v a="$rate_auto" -v b="$rate_up" 'BEGIN { print a / b }') "
    echo "round $r, $name: auto $rate_auto lines/s, upright $rate_up lines/s" >&2
  done
done

{
  echo "# Reading turned lines"
  echo
  echo "Command: \`benchmarks/run_orientation.sh\` (model \`$(basename "$model")\`, ROUNDS=$rounds; commit $(git -C "$root" rev-parse --short HEAD), $(date -u +%F), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores)."
  echo "\`ocr-infer -t 1\` (its summary's lines/s: reading, normalising, the network and decoding),"
  echo "\`--orientation auto\` (the default)"
  echo "against \`--orientation upright\` in each round (which goes first alternating); lines/s medians over the rounds,"
  echo "the cost the median of the per-round ratios. Rendered: 1,000 scan-like lines of the corpus's"
  echo "test part (seed 31); uw3-dev: its 70 real lines; each list repeated to $min_lines lines or more."
  echo
  echo "## Upright lines: what detecting the orientation costs"
  echo
  echo "| set | CER auto | CER upright | lines/s auto | lines/s upright | auto / upright | read twice | read turned |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for s in "${sets[@]}"; do
    name=${s%%=*} dir=${s#*=}
    read -r kept twice <<< "$(turn_stats "$dir" 0)"
    printf "| %s | %s%% | %s%% | %.1f | %.1f | %.3f | %s%% | %s%% |\n" "$name" "${cer_of[$name auto]}" \
      "${cer_of[$name upright]}" "$(median <<< "${rate_of[$name auto]}")" \
      "$(median <<< "${rate_of[$name upright]}")" "$(median <<< "${ratio_of[$name]}")" "$twice" \
      "$(awk -v k="$kept" 'BEGIN { printf "%.1f", 100 - k }')"
  done
  echo
  echo "## Turned lines (the rendered lines turned clockwise)"
  echo
  echo "| turn | CER auto | CER upright | given the right turn (auto) |"
  echo "|---|---:|---:|---:|"
  for turn in 90 180 270; do
    read -r cer_auto _ <<< "$(summary --orientation auto "$work/turned-$turn")"
    read -r cer_up _ <<< "$(summary --orientation upright "$work/turned-$turn")"
    read -r right _ <<< "$(turn_stats "$work/turned-$turn" $(((360 - turn) % 360)))"
    echo "| $turn | $cer_auto% | $cer_up% | $right% |"
  done
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"

#!/usr/bin/env bash
# Where the whole program's time goes: `perf record` over ocr-infer -t 1 (the
# bundled compact model by default) reading a set of line images repeated to
# LINES lines, its samples grouped by what they do (image decoding,
# normalisation, the network's LSTMs and the rest of it, CTC decoding, the
# kernel and libc, start-up), as shares of the samples. perf samples this
# process only, so other work on the machine moves the shares little.
# Writes benchmarks/results/program_profile.md.
#
#   benchmarks/run_program_profile.sh [DIR] [MODEL.ocrm]   # DIR: ../shared/data/uw3-dev
#   LINES=8000 OPTIONS="--lm models/printed-english.ocrlm" benchmarks/run_program_profile.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
dir=${1:-$root/../shared/data/uw3-dev}
model=${2:-$root/models/compact-printed.ocrm}
lines=${LINES:-4200}
work=${PROFILE_WORK_DIR:-$root/runs/program-profile}
out=$root/benchmarks/results/program_profile.md
read -r -a options <<< "${OPTIONS:-}"

command -v perf > /dev/null || { echo "run_program_profile: perf missing (apt-get install linux-perf)" >&2; exit 1; }
[[ -d $dir ]] || { echo "run_program_profile: no line images in $dir" >&2; exit 1; }
"$root/scripts/build.sh" > /dev/null
mkdir -p "$work"
find "$dir" -name '*.png' | sort > "$work/once.txt"
[[ -s $work/once.txt ]] || { echo "run_program_profile: no .png in $dir" >&2; exit 1; }
: > "$work/list.txt"
while (($(wc -l < "$work/list.txt") < lines)); do cat "$work/once.txt" >> "$work/list.txt"; done

perf record -q -F 2000 -o "$work/perf.data" "$build/tools/ocr-infer" -q -m "$model" -t 1 \
  "${options[@]}" "@$work/list.txt" -o /dev/null 2> "$work/ocr-infer.log"
perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio -g none \
  --percent-limit 0 2> /dev/null > "$work/report.txt"

/usr/bin/python3 - "$work/report.txt" "$work/ocr-infer.log" > "$out.tmp" << 'EOF'
import re, subprocess, sys
# First match wins: the groups, by library and symbol.
groups = [
    ("image decoding (PNG: libdeflate inflate, unfiltering, to grey; other formats: leptonica)",
     r"libdeflate|libz\.|libpng|libtiff|libjpeg|libwebp|rgba_row|grey|load_image|png_|Pix|lept"),
    ("normalisation (center_text: ink columns, fit, resampling)",
     r"resample_centered|InkColumns|area_column|normalize_line|fit_text|fit_polynomial|"
     r"measure_text|ink_levels|resample_taps"),
    ("CTC decoding, confidences, alignment",
     r"ctc::|best_path|sequence_log_prob|prefix_beam|LanguageModel|character_errors"),
    ("network: LSTMs (int8 projection, cell)", r"lstm|int8_product|project_rows|Int8Projection"),
    ("network: convolutions, pooling, output layer (ours and oneDNN)",
     r"libdnnl|\[JIT\]|image_conv|scale_bias_relu|dense_block|quantize|largest|log_softmax|"
     r"conv|gemm|jit|pool|onednn|Executor"),
    ("maths library (exp, log)", r"libm\."),
    ("kernel, libc, threads runtime", r"kernel|libc\.so|ld-linux|libgomp|libstdc"),
]
shares = {name: 0.0 for name, _ in groups}
other = {}
for line in open(sys.argv[1]):
    # "[JIT] tid N" (oneDNN's generated kernels) is a shared object with spaces.
    m = re.match(r"\s*([\d.]+)%\s+(.+?)\s+\[[.k]\]\s+(.*)", line)
    if not m:
        continue
    p, what = float(m.group(1)), f"{m.group(2)} {m.group(3).strip()}"
    for name, rx in groups:
        if re.search(rx, what):
            shares[name] += p
            break
    else:
        other[what] = other.get(what, 0.0) + p
summary = open(sys.argv[2]).read().strip().splitlines()
print("# Where ocr-infer's time goes\n")
print("Command: `benchmarks/run_program_profile.sh` (see its header); "
      + " ".join(sys.argv[3:]))
print("\n" + "\n".join(f"    {l}" for l in summary) + "\n")
# perf rounds each of thousands of symbols' shares: scale the sums to 100%.
total = sum(shares.values()) + sum(other.values())
print("| part | share of samples |\n|---|---:|")
for name, _ in groups:
    print(f"| {name} | {100 * shares[name] / total:.1f}% |")
print(f"| other ({len(other)} symbols; the largest: "
      + ", ".join(f"`{' '.join(k.split())[:60]}` {100 * v / total:.1f}%"
                  for k, v in sorted(other.items(), key=lambda kv: -kv[1])[:3])
      + f") | {100 * sum(other.values()) / total:.1f}% |")
EOF
{
  head -3 "$out.tmp" | sed "s|(see its header); |(set \`$(basename "$dir")\` repeated to $lines lines, model \`$(basename "$model")\`${OPTIONS:+, \`$OPTIONS\`}; commit $(git -C "$root" rev-parse --short HEAD), $(date -u +%F), $(lscpu | sed -n 's/^Model name: *//p'))|"
  tail -n +4 "$out.tmp"
} > "$out"
rm -f "$out.tmp"
cat "$out"

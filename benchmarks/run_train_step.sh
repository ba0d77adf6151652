#!/usr/bin/env bash
# Training-step throughput, ocrcore vs PyTorch CPU (Debian python3-torch), on
# the same architecture, batch, line width, label length and thread count,
# run alternately in one session; medians of the per-run medians. Writes
# benchmarks/results/train_step.md.
#
#   benchmarks/run_train_step.sh [ARCH.json] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
arch=${1:-$root/models/arch/teacher-printed.json}
runs=${2:-5}
batch=16 width=512 labels=40
out=$root/benchmarks/results/train_step.md

if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "run_train_step: Debian's python3-torch is missing (scripts/setup-deps.sh --with-peers)" >&2
  exit 1
fi
"$root/scripts/build.sh" > /dev/null

source "$root/benchmarks/common.sh"
lines_per_s() { sed -n 's/.*"lines_per_s": \([0-9.e+-]*\).*/\1/p'; }

{
  echo "# Training step throughput: ocrcore vs PyTorch"
  echo
  echo "Command: \`benchmarks/run_train_step.sh $(basename "$arch") $runs\` (commit $(git -C "$root" rev-parse --short HEAD), $(date -u +%F), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores)."
  echo "Full CTC training steps (forward, CTC loss, backward, Adam update) of \`$(basename "$arch")\` on"
  echo "a batch of $batch random lines of 32x$width with $labels-label targets; each run times 5 steps after 2"
  echo "warm-up steps and reports its median; the two peers alternate, $runs runs each."
  echo
  echo "| threads | ocrcore lines/s | PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') lines/s | ratio |"
  echo "|---:|---:|---:|---:|"
} > "$out.tmp"

for threads in 1 2; do
  ours=() theirs=()
  for ((r = 0; r < runs; r++)); do
    ours+=("$("$build/benchmarks/bench_train_step" --arch "$arch" --batch $batch --width $width \
              --label-length $labels --threads "$threads" | lines_per_s)")
    theirs+=("$(/usr/bin/python3 "$root/benchmarks/torch_train_step.py" --arch "$arch" --batch $batch \
                --width $width --label-length $labels --threads "$threads" | lines_per_s)")
    echo "threads $threads run $((r + 1)): ocrcore ${ours[-1]} lines/s, PyTorch ${theirs[-1]} lines/s" >&2
  done
  o=$(printf '%s\n' "${ours[@]}" | median)
  t=$(printf '%s\n' "${theirs[@]}" | median)
  awk -v n="$threads" -v o="$o" -v t="$t" 'BEGIN { printf "| %d | %.2f | %.2f | %.2fx |\n", n, o, t, o / t }' >> "$out.tmp"
done
mv "$out.tmp" "$out"
cat "$out"

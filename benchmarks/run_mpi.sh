#!/usr/bin/env bash
# Data-parallel training on Open MPI against one process, side by side in one
# run: training lines/s of ocr-train (the printed teacher's architecture, from
# scratch, augmented lines) and of an ocr-compress teacher-student stage (the
# bundled compact student under the bundled teacher, as scripts/train-compact.sh
# runs it: unaugmented lines, teacher outputs from the cache; measured over
# the steps after the first epoch, when every rank holds them in memory, as
# in all but the first of a long run's epochs), each with
# 1 process x 1 thread, 1 process x 2 threads and 2 ranks x 1 thread at the
# same global batch, and as the machine's ceiling for two ranks two
# independent 1 x 1 processes at once (their lines/s added); rounds alternate
# the configurations, medians over rounds; the time per step in the gradient
# allreduce from rank 0's log. Writes benchmarks/results/mpi.md with the
# paper estimate for larger jobs (benchmarks/mpi_scaling.py).
#
#   benchmarks/run_mpi.sh                     # 3 rounds
#   ROUNDS=5 STEPS=40 benchmarks/run_mpi.sh   # ocr-train steps per run (30)
# Stop other work on the machine first: the three share its cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
work=${MPI_BENCH_DIR:-$root/runs/bench-mpi}
rounds=${ROUNDS:-3}
steps=${STEPS:-30}
batch=16
out=$root/benchmarks/results/mpi.md
mpirun=(mpirun --allow-run-as-root --oversubscribe)

command -v mpirun > /dev/null || { echo "run_mpi: mpirun missing (scripts/setup-deps.sh)" >&2; exit 1; }
"$root/scripts/build.sh" > /dev/null
[[ -x $build/tools/ocr-train ]] || { echo "run_mpi: no ocr-train in $build" >&2; exit 1; }

# ocr-compress: one epoch, then the steps measured.
epoch_steps=$((2048 / batch))
compress_steps=$((epoch_steps + ${COMPRESS_STEPS:-60}))
# 2,048 rendered lines of the teacher's kind (once; kept for reruns).
data=$work/data
if [[ ! -f $data/.done ]]; then
  rm -rf "$data"
  "$build/tools/ocr-synth" -q --corpus "$root/tests/fixtures/corpus.txt" -o "$data" --count 2048 \
    --height 0 --seed 11
  touch "$data/.done"
fi

student=(--student-channels 8 16 32 32 64 64 128 96 128 128)
compress_common=(--teacher "$root/models/teacher-printed.ocrm" "${student[@]}" --train "$data"
                 --stages ts --no-augment --teacher-cache-dir "$work/teacher-cache"
                 --teacher-cache-mb 2048 --eval none --latency-lines 0 -b $batch
                 --validate-every 1000000 --checkpoint-every 1000000 --log-every 5 --lr 3e-2 -q)
# The teacher's features of every line on disk, so that each measured run
# reads them (as a resumed or later compression does) rather than timing
# the teacher's first epoch.
if [[ ! -f $work/teacher-cache/.done ]]; then
  rm -rf "$work/warm"
  "$build/tools/ocr-compress" "${compress_common[@]}" --ts-iterations $((2048 / batch)) -t 2 \
    --run-dir "$work/warm" 2> /dev/null
  touch "$work/teacher-cache/.done"
fi

train_common=(--arch "$root/models/arch/teacher-printed.json" --train "$data" -b $batch
              --validate-every 1000000 --checkpoint-every 1000000 --log-every 5 --loader-threads 1 -q)

source "$root/benchmarks/common.sh"
# Lines/s over a run's progress windows after the first (warm-up) and past
# iteration $2 (windows of equal lines, so the harmonic mean is lines over
# time), the allreduce's milliseconds per step, the gradient's bytes, the
# mean share of padded columns and the seconds spent measuring widths before
# training, from a log.jsonl.
rate() { /usr/bin/python3 - "$1" "${2:-0}" << 'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l]
rows = [r for r in rows if r.get("event") == "train"][1:]
rows = [r for r in rows if r["iteration"] > int(sys.argv[2])]
lines = len(rows) / sum(1 / r["lines_per_s"] for r in rows) if rows else float("nan")
ms = [r["allreduce_ms_per_step"] for r in rows if "allreduce_ms_per_step" in r]
size = [r["gradient_bytes"] for r in rows if "gradient_bytes" in r]
pad = [r["padding"] for r in rows if "padding" in r]
measuring = [json.loads(l) for l in open(sys.argv[1]) if '"widths_measured"' in l]
print(f"{lines:.3f} {sum(ms) / len(ms) if ms else 0:.3f} {size[-1] if size else 0} "
      f"{sum(pad) / len(pad) if pad else float('nan'):.4f} "
      f"{measuring[0]['seconds'] if measuring else 0:.2f}")
EOF
}

declare -A lines_of ms_of bytes_of pad_of measure_of
configs=("1 1" "1 2" "2 1" "solo 1")
for ((r = 1; r <= rounds; r++)); do
  for tool in train compress; do
    for c in "${configs[@]}"; do
      read -r ranks threads <<< "$c"
      dir=$work/run-$tool-$ranks-$threads
      rm -rf "$dir"
      launch=()
      [[ $ranks == 2 ]] && launch=("${mpirun[@]}" -np "$ranks")
      if [[ $ranks == solo ]]; then
        # Two independent one-thread runs at once: what two ranks could reach
        # if they never waited for each other.
        for k in a b; do
          rm -rf "$dir-$k"
          if [[ $tool == train ]]; then
            "$build/tools/ocr-train" "${train_common[@]}" --iterations "$steps" -t 1 \
              --run-dir "$dir-$k" &
          else
            "$build/tools/ocr-compress" "${compress_common[@]}" --ts-iterations "$compress_steps" \
              -t 1 --run-dir "$dir-$k" > /dev/null &
          fi
        done
        wait
        sub= after=0; [[ $tool == compress ]] && sub=/ts after=$epoch_steps
        read -r la _ _ <<< "$(rate "$dir-a$sub/log.jsonl" $after)"
        read -r lb _ _ <<< "$(rate "$dir-b$sub/log.jsonl" $after)"
        l=$(awk -v a="$la" -v b="$lb" 'BEGIN { print a + b }')
        lines_of["$tool solo 1"]+="$l "
        echo "round $r: $tool, 2 independent processes x 1 thread: $l lines/s together" >&2
        continue
      fi
      if [[ $tool == train ]]; then
        "${launch[@]}" "$build/tools/ocr-train" "${train_common[@]}" --iterations "$steps" \
          -t "$threads" --run-dir "$dir"
        log=$dir/log.jsonl after=0
      else
        "${launch[@]}" "$build/tools/ocr-compress" "${compress_common[@]}" \
          --ts-iterations "$compress_steps" -t "$threads" --run-dir "$dir" > /dev/null
        log=$dir/ts/log.jsonl after=$epoch_steps
      fi
      read -r l m b p w <<< "$(rate "$log" $after)"
      key="$tool $ranks $threads"
      lines_of[$key]+="$l "
      ms_of[$key]+="$m "
      pad_of[$key]+="$p "
      measure_of[$key]+="$w "
      bytes_of[$key]=$b
      echo "round $r: $tool, $ranks process(es) x $threads thread(s): $l lines/s, allreduce $m ms/step" >&2
    done
  done
done

med() { tr ' ' '\n' <<< "$1" | grep . | median; }
{
  echo "# Data-parallel training on Open MPI"
  echo
  echo "Command: \`benchmarks/run_mpi.sh\` (ROUNDS=$rounds, STEPS=$steps; commit $(git -C "$root" rev-parse --short HEAD), $(date -u +%F), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, Open MPI $(mpirun --version | sed -n '1s/.* //p'))."
  echo "Global batch $batch lines in every configuration (2 ranks: 8 each; mpirun's default binding,"
  echo "a rank to a core); lines over time of the log's windows of 5 steps; the configurations"
  echo "alternate within each round, medians over the $rounds rounds. ocr-train:"
  echo "\`models/arch/teacher-printed.json\` from scratch on 2,048 rendered lines (augmented), $steps steps,"
  echo "the first window left out. ocr-compress: stage ts of the bundled compact student under the"
  echo "bundled teacher on the same lines unaugmented, $compress_steps steps, the $epoch_steps of the first epoch"
  echo "left out (after it each rank holds the teacher outputs of its lines in memory)."
  echo
  echo "One process plans its batches from widths measured after loading (its default), the ranks"
  echo "from every line's width measured before training, each rank its share (\`premeasured\`,"
  echo "their default: unaugmented widths, so augmented lines pad more); the padding columns give the"
  echo "share of computed columns that are padding. Measuring the widths took the ranks"
  echo "$(med "${measure_of[train 2 1]}") s (ocr-train) and $(med "${measure_of[compress 2 1]}") s (ocr-compress) once before training, outside the timed windows."
  echo
  echo "| tool | 1 process x 1 thread | 1 process x 2 threads | 2 ranks x 1 thread | 2 ranks / 1x1 | 2 ranks / 1x2 | two independent 1x1 (ceiling) / 1x1 | allreduce ms/step (2 ranks) | gradient per step | padding 1x1 / 2 ranks |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for tool in train compress; do
    a=$(med "${lines_of[$tool 1 1]}") b=$(med "${lines_of[$tool 1 2]}") c=$(med "${lines_of[$tool 2 1]}")
    d=$(med "${lines_of[$tool solo 1]}") m=$(med "${ms_of[$tool 2 1]}")
    p1=$(med "${pad_of[$tool 1 1]}") p2=$(med "${pad_of[$tool 2 1]}")
    awk -v t="ocr-$tool" -v a="$a" -v b="$b" -v c="$c" -v d="$d" -v m="$m" -v bytes="${bytes_of[$tool 2 1]}" -v batch=$batch -v p1="$p1" -v p2="$p2" 'BEGIN {
      step_ms = 1000 * batch / c
      printf "| %s | %.2f | %.2f | %.2f | %.2fx | %.2fx | %.2fx | %.2f (%.1f%% of a step) | %.2f MB | %.0f%% / %.0f%% |\n",
             t, a, b, c, c / a, c / b, d / a, m, 100 * m / step_ms, bytes / 1e6, 100 * p1, 100 * p2 }'
  done
  echo
  echo "Per-round figures (lines/s, rounds in order):"
  echo
  for key in "train 1 1" "train 1 2" "train 2 1" "train solo 1" "compress 1 1" "compress 1 2" \
             "compress 2 1" "compress solo 1"; do
    echo "- $key: ${lines_of[$key]}"
  done
  echo
  echo "## On paper: N machines"
  echo
  echo "Each machine computes a local batch of $batch lines per step in the time one process with 2"
  echo "threads takes here; the gradient is summed by a ring allreduce (2 (N-1)/N of its bytes sent and"
  echo "received per machine, 30 us per message); \`benchmarks/mpi_scaling.py\`."
  echo
  for tool in train compress; do
    b=$(med "${lines_of[$tool 1 2]}")
    step_ms=$(awk -v b="$b" -v batch=$batch 'BEGIN { print 1000 * batch / b }')
    /usr/bin/python3 "$root/benchmarks/mpi_scaling.py" --step-ms "$step_ms" \
      --gradient-bytes "${bytes_of[$tool 2 1]}" --title "ocr-$tool"
    echo
  done
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"

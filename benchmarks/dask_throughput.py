"""Batch OCR on Dask against ocr-infer, side by side in one run (benchmarks/run_dask.sh).

Per round, in alternating order: ocr-infer -t 1 and -t 2 over the lines, and
`python3 -m ocrcore.dask` on a fresh local cluster (a scheduler and N dask-worker
processes of one thread each, started before the clock) with 1 and 2 workers.
Figures are medians over the rounds:

  lines/s, end to end: the whole command, from start to exit (ocr-infer: loading
    the model and every line; ocrcore.dask: Python's start, importing Dask,
    connecting, the workers loading the model, every line, the output);
  lines/s, job: ocr-infer's own timer (recognition) against the job's span in
    ocrcore.dask's log (first task submitted to last row written);
  peak RSS: ocr-infer's (getrusage of the child) against each worker's (VmHWM
    of the worker process once the job is done).

Usage: dask_throughput.py OCR_INFER LINES_DIR ROUNDS OUT.md
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The tests' helper that starts real Dask processes (run_dask.sh puts it on the path).
from dask_processes import DaskProcesses


def run_ocr_infer(ocr_infer: str, lines: str, threads: int):
    start = time.perf_counter()
    process = subprocess.Popen(
        [ocr_infer, "-q", "-t", str(threads), "-o", "/dev/null", lines],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"ocr-infer failed: {stderr}")
    match = re.search(r"(\d+) recognised.*?; ([0-9.]+) s", stderr)
    count, job = int(match.group(1)), float(match.group(2))
    return {"lines": count, "wall": wall, "job": job, "rss_mb": usage.ru_maxrss / 1024}


def run_two_ocr_infers(ocr_infer: str, lines: str):
    """Two independent ocr-infer -t 1 over halves of the lines at once: what two
    processes on this machine's two cores reach without any engine between them."""
    images = sorted(str(p) for p in Path(lines).glob("*.png"))
    with tempfile.TemporaryDirectory() as tmp:
        lists = []
        for half in (0, 1):
            listing = Path(tmp) / f"half{half}.txt"
            listing.write_text("\n".join(images[half::2]) + "\n")
            lists.append(listing)
        start = time.perf_counter()
        processes = [subprocess.Popen([ocr_infer, "-q", "-t", "1", "-o", "/dev/null", f"@{l}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                     for l in lists]
        jobs, peak = [], 0.0
        for process in processes:
            _, status, usage = os.wait4(process.pid, 0)
            stderr = process.stderr.read()
            process.stderr.close()
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"ocr-infer failed: {stderr}")
            jobs.append(float(re.search(r"recognised.*?; ([0-9.]+) s", stderr).group(1)))
            peak = max(peak, usage.ru_maxrss / 1024)
        wall = time.perf_counter() - start
    return {"lines": len(images), "wall": wall, "job": max(jobs), "rss_mb": peak}


class LocalProcesses(DaskProcesses):
    """A scheduler and N workers of one thread each, with the model loaded on each."""

    def __init__(self, workers: int, directory: Path):
        super().__init__(directory)
        self.add_workers([f"worker-{i}" for i in range(workers)])
        from distributed import Client

        import ocrcore.dask

        with Client(self.address, timeout="60s") as client:
            self.idle_rss_mb = max(self.worker_peak_rss_mb())
            # A long-lived cluster has its model loaded (ocr-infer's timer too
            # starts after loading): the job's figure is the steady state.
            ocrcore.dask.preload(client)

    def scheduler_cpu_s(self):
        fields = Path(f"/proc/{self.pid('scheduler')}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def worker_peak_rss_mb(self):
        peaks = []
        for name in self.worker_names():
            status = Path(f"/proc/{self.pid(name)}/status").read_text()
            peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)
        return peaks


def run_dask(lines: str, workers: int, partition_size):
    with tempfile.TemporaryDirectory() as tmp:
        cluster = LocalProcesses(workers, Path(tmp))
        try:
            log = Path(tmp) / "log.jsonl"
            scheduler_before = cluster.scheduler_cpu_s()
            start = time.perf_counter()
            size = [] if partition_size is None else ["--partition-size", str(partition_size)]
            subprocess.run(
                [sys.executable, "-m", "ocrcore.dask", "--scheduler", cluster.address, lines,
                 "-o", "/dev/null", *size, "--log", str(log), "-q"],
                check=True, stderr=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            scheduler_s = cluster.scheduler_cpu_s() - scheduler_before
            events = [json.loads(line) for line in log.read_text().splitlines()]
            begin = next(e for e in events if e["event"] == "start")
            end = next(e for e in events if e["event"] == "end")
            return {"lines": end["lines"], "wall": wall, "job": end["time"] - begin["time"],
                    "rss_mb": max(cluster.worker_peak_rss_mb()), "idle_rss_mb": cluster.idle_rss_mb,
                    "tasks": begin["partitions"], "partition_size": begin["partition_size"],
                    "scheduler_ms_per_task": 1000 * scheduler_s / begin["partitions"]}
        finally:
            cluster.close()


def main():
    ocr_infer, lines, rounds, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    # The command's own choice (about 8 tasks per worker thread) unless set.
    partition_size = int(os.environ["PARTITION_SIZE"]) if os.environ.get("PARTITION_SIZE") else None
    configs = [("ocr-infer -t 1", lambda: run_ocr_infer(ocr_infer, lines, 1)),
               ("ocr-infer -t 2", lambda: run_ocr_infer(ocr_infer, lines, 2)),
               ("2 x ocr-infer -t 1 (halves at once)", lambda: run_two_ocr_infers(ocr_infer, lines)),
               ("dask, 1 worker", lambda: run_dask(lines, 1, partition_size)),
               ("dask, 2 workers", lambda: run_dask(lines, 2, partition_size)),
               # One line per task: the scheduler's cost per task shows.
               ("dask, 2 workers, 1-line tasks", lambda: run_dask(lines, 2, 1))]
    results = {name: [] for name, _ in configs}
    for r in range(rounds):
        order = configs if r % 2 == 0 else list(reversed(configs))
        for name, run in order:
            figures = run()
            results[name].append(figures)
            print(f"round {r + 1}/{rounds} {name}: {figures['lines'] / figures['wall']:.1f} lines/s "
                  f"end to end, {figures['lines'] / figures['job']:.1f} job, "
                  f"{figures['rss_mb']:.0f} MB", file=sys.stderr, flush=True)

    def median(name, key):
        values = [f["lines"] / f[key] if key in ("wall", "job") else f[key] for f in results[name]]
        return statistics.median(values)

    n = results["ocr-infer -t 1"][0]["lines"]
    rows = []
    for name, _ in configs:
        rows.append(f"| {name} | {median(name, 'wall'):.0f} | {median(name, 'job'):.0f} | "
                    f"{median(name, 'rss_mb'):.0f} |")
    ratio = lambda a, b, key: median(a, key) / median(b, key)  # noqa: E731
    checks = [
        ("2 workers / 1 worker (job)", ratio("dask, 2 workers", "dask, 1 worker", "job"), ">= 1.8"),
        ("2 x ocr-infer -t 1 / ocr-infer -t 1 (job): this machine's two-core ceiling",
         ratio("2 x ocr-infer -t 1 (halves at once)", "ocr-infer -t 1", "job"), ""),
        ("2 workers / 1 worker (end to end)",
         ratio("dask, 2 workers", "dask, 1 worker", "wall"), ""),
        ("2 workers / ocr-infer -t 2 (job)",
         ratio("dask, 2 workers", "ocr-infer -t 2", "job"), ">= 0.85"),
        ("2 workers / ocr-infer -t 2 (end to end)",
         ratio("dask, 2 workers", "ocr-infer -t 2", "wall"), ""),
        ("2 workers, 1-line tasks / 2 workers (job)",
         ratio("dask, 2 workers, 1-line tasks", "dask, 2 workers", "job"), ""),
        ("worker peak RSS / ocr-infer -t 1 peak RSS",
         median("dask, 1 worker", "rss_mb") / median("ocr-infer -t 1", "rss_mb"), "<= 1.3"),
    ]
    # Cost of a task, in worker time: the extra time of 1-line tasks over the
    # extra tasks, times the workers waiting through it.
    extra_s = n / median("dask, 2 workers, 1-line tasks", "job") - n / median("dask, 2 workers", "job")
    extra_tasks = (results["dask, 2 workers, 1-line tasks"][0]["tasks"]
                   - results["dask, 2 workers"][0]["tasks"])
    task_cost_ms = 1000 * extra_s * 2 / extra_tasks
    line_ms = 1000 / median("dask, 1 worker", "job")
    text = [
        "# Batch OCR on Dask against ocr-infer",
        "",
        f"`benchmarks/run_dask.sh`: {n} rendered lines, compact model, medians of {rounds} rounds "
        f"in alternating order, partitions of {results['dask, 1 worker'][0]['partition_size']} "
        f"lines with 1 worker and {results['dask, 2 workers'][0]['partition_size']} with 2; "
        f"workers are `dask-worker "
        f"--nthreads 1` processes on this machine ({os.cpu_count()} cores).",
        "",
        "| run | lines/s end to end | lines/s job | peak RSS MB |",
        "|---|---|---|---|",
        *rows,
        "",
        "| ratio | measured | target |",
        "|---|---|---|",
        *[f"| {name} | {value:.2f} | {target} |" for name, value, target in checks],
        "",
        f"Cost of one task (1-line tasks against the chosen ones, in worker time): "
        f"{task_cost_ms:.2f} ms, against {line_ms:.2f} ms per line on one worker; the "
        f"scheduler's own CPU per task (1-line tasks): "
        f"{median('dask, 2 workers, 1-line tasks', 'scheduler_ms_per_task'):.2f} ms. A worker "
        f"before its first task (Python and the Dask worker alone): "
        f"{median('dask, 1 worker', 'idle_rss_mb'):.0f} MB; reading adds "
        f"{median('dask, 1 worker', 'rss_mb') - median('dask, 1 worker', 'idle_rss_mb'):.0f} "
        f"MB to it, against ocr-infer's whole {median('ocr-infer -t 1', 'rss_mb'):.0f} MB.",
        "",
        "End to end: the whole command (ocrcore.dask: Python, importing Dask, connecting). "
        "Job: ocr-infer's own timer (after loading the model) against the job's span in "
        "ocrcore.dask's log, on workers that loaded the model beforehand (ocrcore.dask.preload, "
        "as a long-lived cluster has). Peak RSS: ocr-infer's whole process against the largest worker's "
        "(VmHWM), whose Python interpreter and Dask worker are most of it.",
        "",
    ]
    Path(out).write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""PyTorch CPU peer of bench_runtime: loads an ocrcore model file into the
PyTorch twin of its architecture (scripts/ocrcore_torch.py) and runs the same
protocol on the same normalised lines (latency: batch 1, one thread, each
line at its own width; throughput: all threads, width-sorted batches padded to
their widest line). Prints one JSON object. Run with Debian's /usr/bin/python3.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "scripts"))
sys.path.insert(0, here)
from lines_file import read_lines  # noqa: E402
from ocrcore_format import read_safetensors  # noqa: E402
from ocrcore_torch import Net  # noqa: E402


def batch_tensor(lines):
    h = lines[0].shape[0]
    w = max(l.shape[1] for l in lines)
    x = np.zeros((len(lines), 1, h, w), dtype=np.float32)
    for i, l in enumerate(lines):
        x[i, 0, :, : l.shape[1]] = l
    return torch.from_numpy(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--lines", required=True)
    ap.add_argument("--batches", default="1,2,4,8,16,32")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()

    tensors, meta = read_safetensors(a.model)
    net = Net(json.loads(meta["ocrcore.architecture"]))
    net.load_file_tensors(tensors)
    net.eval()
    lines = read_lines(a.lines)
    singles = [batch_tensor([l]) for l in lines]
    out = {"engine": "pytorch", "version": torch.__version__, "lines": len(lines)}

    with torch.inference_mode():
        torch.set_num_threads(1)
        net(singles[0])
        per_line = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            for x in singles:
                net(x)
            per_line.append((time.perf_counter() - t0) / len(lines))
        out["latency_ms"] = statistics.median(per_line) * 1e3

        torch.set_num_threads(a.threads)
        ordered = sorted(lines, key=lambda l: l.shape[1])
        by_batch = {}
        for b in [int(v) for v in a.batches.split(",")]:
            batches = [batch_tensor(ordered[i : i + b]) for i in range(0, len(ordered), b)]
            for x in batches:  # warm-up
                net(x)
            rates = []
            for _ in range(a.runs):
                t0 = time.perf_counter()
                for x in batches:
                    net(x)
                rates.append(len(lines) / (time.perf_counter() - t0))
            by_batch[str(b)] = statistics.median(rates)
    best = max(by_batch, key=by_batch.get)
    out.update(threads=a.threads, throughput_lines_per_s=by_batch[best], best_batch=int(best),
               throughput_by_batch=by_batch,
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

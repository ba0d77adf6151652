#!/usr/bin/python3
"""PyTorch CPU peer for the training-throughput benchmark.

Times full CTC training steps (forward, loss, backward, Adam update) of the
architecture JSON on synthetic batches of the given shape and prints one JSON
object: lines/s as the median over the timed steps. Run with Debian's
/usr/bin/python3 (python3-torch).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from ocrcore_torch import Net, load_architecture  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--label-length", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    arch = load_architecture(a.arch)
    net = Net(arch)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    h = arch["input_height"]
    x = torch.rand(a.batch, 1, h, a.width)
    classes = arch["layers"][-1]["out_features"]
    targets = torch.randint(1, classes, (a.batch, a.label_length))
    times = []
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        lp = net(x)
        T = lp.shape[0]
        loss = ctc(lp, targets, torch.full((a.batch,), T, dtype=torch.long),
                   torch.full((a.batch,), a.label_length, dtype=torch.long))
        loss.backward()
        opt.step()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"peer": "pytorch", "version": torch.__version__, "threads": a.threads,
                      "batch": a.batch, "width": a.width, "step_s": med,
                      "lines_per_s": a.batch / med, "step_times": times}))


if __name__ == "__main__":
    main()

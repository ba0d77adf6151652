#!/usr/bin/python3
"""Markdown table of bench_layers' JSON output (--benchmark_format=json with
repetitions): per layer, the median time, useful GFLOP/s and fraction of the
FMA peak measured in the same run, at batch 1 on one thread and batch 8 on
two threads."""
import argparse
import json
import re
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    a = ap.parse_args()
    data = json.load(open(a.json))
    medians = {b["run_name"]: b for b in data["benchmarks"]
               if b.get("aggregate_name") == "median"}
    peak = [b for name, b in medians.items() if name.startswith("BM_FmaPeak/avx512")] or \
           [b for name, b in medians.items() if name.startswith("BM_FmaPeak/")]
    peak_gflops = peak[0]["GFLOP/s"] if peak else None
    if peak_gflops:
        print(f"fp32 FMA peak, one core (BM_FmaPeak, median): {peak_gflops:.1f} GFLOP/s. "
              "Useful FLOPs leave out kernel taps that fall on zero padding (oneDNN skips them); "
              "of peak = useful GFLOP/s / (peak x threads).\n")
    rows = defaultdict(dict)
    for name, b in medians.items():
        m = re.match(r"BM_Layer/([^/]+)/\d+_([^/]+)/b(\d+)/t(\d+)", name)
        if m:
            rows[(m.group(1), m.group(2))][(int(m.group(3)), int(m.group(4)))] = b
    print("| model | layer | b1 t1 µs | useful GFLOP/s | of peak | b8 t2 µs | useful GFLOP/s | of peak |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (model, layer), cases in rows.items():
        cells = []
        for key in [(1, 1), (8, 2)]:
            b = cases.get(key)
            if not b:
                cells += ["-", "-", "-"]
                continue
            us = b["real_time"] if b.get("time_unit") == "us" else b["real_time"] / 1e3
            useful = b.get("useful_GFLOP/s", 0)
            frac = useful / (peak_gflops * key[1]) if peak_gflops and useful else None
            cells += [f"{us:.0f}", f"{useful:.1f}" if useful else "-",
                      f"{frac * 100:.0f}%" if frac else "-"]
        print(f"| {model} | {layer.replace('_', ' ')} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

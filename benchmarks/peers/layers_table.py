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
              "of peak = useful GFLOP/s / (peak x threads). Layers the engine runs as Winograd are "
              "credited with the FLOPs of direct convolution, so they can pass 100%.\n")
    rows = defaultdict(dict)
    forced = defaultdict(dict)  # (model, layer) -> {(batch, threads, algorithm): benchmark}
    for name, b in medians.items():
        m = re.match(r"BM_Layer/([^/]+)/\d+_([^/]+)/b(\d+)/t(\d+)(/(direct|winograd))?/", name)
        if not m:
            continue
        key = (int(m.group(3)), int(m.group(4)))
        if m.group(6):
            forced[(m.group(1), m.group(2))][key + (m.group(6),)] = b
        else:
            rows[(m.group(1), m.group(2))][key] = b
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
    if forced:
        print("\n3x3 convolutions with the algorithm forced (OCRCORE_CONV), µs, median; "
              "the engine's own choice is the table above.\n")
        print("| model | layer | b1 t1 direct | b1 t1 Winograd | b8 t2 direct | b8 t2 Winograd |")
        print("|---|---|---:|---:|---:|---:|")
        for (model, layer), cases in forced.items():
            cells = []
            for key in [(1, 1, "direct"), (1, 1, "winograd"), (8, 2, "direct"), (8, 2, "winograd")]:
                b = cases.get(key)
                us = None if not b else (b["real_time"] if b.get("time_unit") == "us"
                                         else b["real_time"] / 1e3)
                cells.append(f"{us:.0f}" if us is not None else "-")
            print(f"| {model} | {layer.replace('_', ' ')} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the compression table (benchmarks/results/compress.md) and its data
(WORK/table.json, for scripts/compress-report.py) from the run directories of
benchmarks/run_compress_table.sh, which calls it."""
import argparse
import json
import os
import statistics


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def json_lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_atomic(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def model_cer(report, name):
    """{set: CER %} of the model called `name` in an ocr-compress report."""
    for m in report.get("models", []):
        if m["name"] == name:
            return {s: 100 * v["cer"] for s, v in m["errors"].items()}
    raise SystemExit(f"compress_table: no model '{name}' in the report")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--title", default="the printed-English teacher")
    ap.add_argument("--peer", action="append", default=[],
                    help="SET=FILE: benchmarks/peers/ocr_level.py output on test set SET")
    ap.add_argument("--out", required=True)
    ap.add_argument("--lrs", required=True, help="JSON: criterion -> chosen learning rate")
    ap.add_argument("--criteria", nargs="+", required=True)
    ap.add_argument("--seeds", nargs="+", required=True)
    ap.add_argument("--sweep", required=True)
    ap.add_argument("--ts-iterations", required=True)
    ap.add_argument("--long-criteria", nargs="*", default=[])
    ap.add_argument("--long-iterations", default="0")
    ap.add_argument("--long-seeds", nargs="*", help="seeds of the long runs (default: the first)")
    ap.add_argument("--fast", help="run directory of the student sized for the speed target")
    ap.add_argument("--fast-channels", default="")
    ap.add_argument("--ft-iterations", required=True)
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=LABEL=FINE-TUNING: the variant student in variant-NAME and "
                         "variant-NAME+ft")
    ap.add_argument("--ranks", required=True)
    ap.add_argument("--hooi", default="0")
    ap.add_argument("--runs", required=True)
    a = ap.parse_args()
    w = a.work
    long_seeds = a.long_seeds or a.seeds[:1]
    long_seeds_text = f"seed{'s' if len(long_seeds) > 1 else ''} {', '.join(long_seeds)}"
    lrs = json.loads(a.lrs)

    speed = {}
    for d in json_lines(f"{w}/speed.jsonl"):
        speed.setdefault(d["model"], []).append(d["result"])
    size = {d["model"]: d for d in json_lines(f"{w}/size.jsonl")}

    def med(name, key):
        return statistics.median(r[key] for r in speed[name])

    first = f"lstm-guided-s{a.seeds[0]}"
    teacher_cer = model_cer(load(f"{w}/{first}/report.json"), "teacher")
    sets = list(teacher_cer)
    lat_t, tp_t = med("teacher", "latency_ms"), med("teacher", "throughput_lines_per_s")
    p_t = size["teacher"]["parameters"]

    # (label, architecture, [per-seed {set: CER %}])
    rows = [("teacher", "teacher", [teacher_cer])]
    for c in a.criteria:
        per_seed = [model_cer(load(f"{w}/{c}-s{s}/report.json"), f"student ({c})") for s in a.seeds]
        rows.append((f"student, {c} (lr {lrs[c]})", "student", per_seed))
    for c in a.long_criteria:
        rows.append((f"student, {c}, {a.long_iterations} iterations ({long_seeds_text})", "student",
                     [model_cer(load(f"{w}/{c}-long-s{s}/report.json"), f"student ({c})")
                      for s in long_seeds]))
    if a.fast:
        rows.append((f"fast student ({a.fast_channels}), lstm-guided, {a.long_iterations} iterations "
                     f"(seed {a.seeds[0]})", "fast-student",
                     [model_cer(load(f"{w}/{a.fast}/report.json"), "student (lstm-guided)")]))
    tucker = load(f"{w}/lstm-guided+tucker+ft/report.json")
    rows.append(("lstm-guided + Tucker, before fine-tuning", "student+tucker",
                 [model_cer(tucker, "+ Tucker")]))
    rows.append(("lstm-guided + Tucker + fine-tuning", "student+tucker",
                 [model_cer(tucker, "+ fine-tuning")]))
    rows.append(("lstm-guided + CTC fine-tuning, DBLSTM unfrozen *", "student",
                 [model_cer(load(f"{w}/lstm-guided+ctc-ft/report.json"), "+ fine-tuning")]))
    rows.append(("lstm-guided + Tucker + CTC fine-tuning, DBLSTM unfrozen *", "student+tucker",
                 [model_cer(load(f"{w}/lstm-guided+tucker+ctc-ft/report.json"), "+ fine-tuning")]))
    if a.fast:
        rows.append(("fast student + CTC fine-tuning, DBLSTM unfrozen *", "fast-student",
                     [model_cer(load(f"{w}/lstm-guided-fast+ctc-ft/report.json"), "+ fine-tuning")]))

    for spec in a.variant:
        name, label, ft_label = spec.split("=", 2)
        ft = load(f"{w}/variant-{name}+ft/report.json")
        rows.append((f"{label}, {a.ts_iterations} iterations", f"variant-{name}",
                     [model_cer(ft, "student (lstm-guided)")]))
        rows.append((f"{label} + {ft_label}", f"variant-{name}",
                     [model_cer(ft, "+ fine-tuning")]))

    lines = [
        f"# Teacher-student learning and Tucker-2 on {a.title}", "",
        "`benchmarks/run_compress_table.sh`: every student has the same CNN (the bundled compact "
        "model's); the DBLSTM and output layer are the teacher's, frozen. Each criterion takes its "
        f"learning rate from the same sweep ({a.sweep} iterations, seed {a.seeds[0]}, by "
        f"validation CER), then trains {a.ts_iterations} iterations of 16 lines for each seed "
        f"({', '.join(a.seeds)}) on the same training lines, unaugmented"
        + (f"; {' and '.join(a.long_criteria)} also {a.long_iterations} iterations, {long_seeds_text}, "
           "so that the ranking is not one of a short budget" if a.long_criteria else "")
        + f". Tucker ranks `{a.ranks}` "
        f"({a.hooi} HOOI iterations) on the first "
        f"seed's lstm-guided student, then {a.ft_iterations} fine-tuning iterations with the "
        "LSTM-guided loss."
        + (" Variant students (the same CNN with one change) are trained on that schedule: "
           f"{a.ts_iterations} iterations of LSTM-guided teacher-student learning at its rate, "
           f"then {a.ft_iterations} of fine-tuning with the same loss." if a.variant else ""), "",
        f"Speed: `bench_runtime` on 200 test lines, models alternated in each of {a.runs} "
        "rounds, medians. Latency: batch 1, one thread. Throughput: all threads, best of batch "
        "1/4/8/16. Speedup = teacher time / model time in the same run. CER: greedy decoding "
        "(DESIGN.md), mean over seeds with the spread (min-max) when there are several, and in "
        "brackets the difference of the mean to the teacher in points. Footprint: fp32 "
        "parameters.", "",
        "| model | parameters | footprint reduction | GFLOP (32x512) | latency ms | speedup, 1 thread "
        "| lines/s, all threads | speedup, all threads | "
        + " | ".join(f"CER {s}" for s in sets) + " |",
        "|---|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(sets)]
    table = {"sets": sets, "rows": [], "learning_rates": lrs}
    for label, arch, per_seed in rows:
        lat, tp = med(arch, "latency_ms"), med(arch, "throughput_lines_per_s")
        p = size[arch]["parameters"]
        cells, mean = [], {}
        for s in sets:
            values = [r[s] for r in per_seed]
            mean[s] = statistics.mean(values)
            spread = f" [{min(values):.2f}-{max(values):.2f}]" if len(values) > 1 else ""
            delta = f" ({mean[s] - teacher_cer[s]:+.2f})" if arch != "teacher" else ""
            cells.append(f"{mean[s]:.2f}%{spread}{delta}")
        lines.append(f"| {label} | {p:,} | {p_t / p:.2f}x | {size[arch]['gflops']:.3f} | {lat:.2f} | "
                     f"{lat_t / lat:.2f}x | {tp:.1f} | {tp / tp_t:.2f}x | " + " | ".join(cells) + " |")
        table["rows"].append({"label": label, "name": arch if arch == "teacher" else label,
                              "parameters": p, "footprint_reduction": p_t / p,
                              "latency_ms": lat, "speedup": lat_t / lat, "lines_per_s": tp,
                              "cer": mean, "cer_per_seed": per_seed})

    for spec in a.peer:
        set_name, _, path = spec.partition("=")
        for e in json_lines(path):
            engine = e["engine"] + (f" (whitelist '{e['whitelist']}')" if e.get("whitelist") else "")
            cells = [f"{100 * e['cer']:.2f}%" if s == set_name else "" for s in sets]
            lines.append(f"| peer: {engine}, whole program, {e['lines_per_s']:.1f} lines/s, "
                         f"{e['threads']} thread(s) | | | | | | | | " + " | ".join(cells) + " |")
            table.setdefault("peers", []).append({"set": set_name, **e})
    lines += ["", "\\* Beyond the paper's recipe: fine-tuned whole, DBLSTM and output layer "
              "included, with CTC on the labelled training lines.", "",
              "Learning-rate sweep (lowest validation CER of each run):", "",
              "| criterion | " + " | ".join(f"lr {lr}" for lr in a.sweep.split(" x ")[0].split())
              + " |", "|---|" + "---:|" * len(a.sweep.split(" x ")[0].split())]
    for c in a.criteria:
        cells = []
        for lr in a.sweep.split(" x ")[0].split():
            events = json_lines(f"{w}/sweep/{c}-lr{lr}/ts/log.jsonl")
            best = min(e["cer"] for e in events if e.get("event") == "validation")
            cells.append(f"{100 * best:.2f}%" + (" (chosen)" if lr == lrs[c] else ""))
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += ["", "Tucker-2 per layer (kernel error: relative Frobenius error of the reconstructed "
              "kernel before fine-tuning):", "",
              "| layer | method | ranks | parameters before | after | MFLOP before | after | kernel error |",
              "|---|---|---|---:|---:|---:|---:|---:|"]
    for l in tucker.get("decomposition", []):
        lines.append(f"| {l['layer']} | {l['method']} | {l['ranks'][0]}, {l['ranks'][1]} | "
                     f"{l['params_before']:,} | {l['params_after']:,} | {l['flops_before'] / 1e6:.1f} | "
                     f"{l['flops_after'] / 1e6:.1f} | {l['relative_error']:.3f} |")
    write_atomic(a.out, "\n".join(lines) + "\n")
    write_atomic(f"{w}/table.json", json.dumps(table, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The compression report: one self-contained HTML file (plots inlined as SVG,
no outside resources, opens offline) from ocr-compress run directories.

  compress-report.py -o report.html RUN_DIR [RUN_DIR ...]
      [--table runs/compress-table/table.json]
      [--peers uw3-dev/test=ocr_level.jsonl]

For each run directory (what `ocr-compress --run-dir` writes: report.json and
one directory per stage with its log.jsonl) it draws the training and
validation curves of each stage and, for a run with a Tucker stage, every
layer's singular-value spectra of both kernel unfoldings with the chosen
ranks marked. CER is plotted against footprint reduction and against speedup
for every model: the rows of --table (benchmarks/run_compress_table.sh writes
it) when given, else the models each run's report.json evaluated; the
teacher is marked, and peers (benchmarks/peers/ocr_level.py output for one
evaluation set, Tesseract's line drawn across) too.

Needs python3-matplotlib (scripts/setup-deps.sh --report).
"""
import argparse
import html
import io
import json
import math
import os
import sys

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib import ticker  # noqa: E402

STAGES = ("ts", "finetune")


def read_json_lines(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                # A run killed mid-write leaves a partial last line; anything
                # else is worth saying.
                print(f"compress-report: {path}:{n}: skipped ({e})", file=sys.stderr)
    return out


def svg(fig):
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # without the XML prologue and doctype


def stage_curves(run_dir, name):
    """Training loss and validation CER of each stage of one run, or None."""
    stages = []
    for stage in STAGES:
        log = os.path.join(run_dir, stage, "log.jsonl")
        if os.path.exists(log):
            stages.append((stage, read_json_lines(log)))
    if not stages:
        return None
    fig, axes = plt.subplots(1, len(stages), figsize=(6 * len(stages), 3.4), squeeze=False)
    for ax, (stage, events) in zip(axes[0], stages):
        train = [e for e in events if e.get("event") == "train" and "loss_avg" in e]
        val = [e for e in events if e.get("event") == "validation" and "cer" in e]
        ax.plot([e["iteration"] for e in train], [e["loss_avg"] for e in train],
                color="tab:blue", label="training loss (running mean)")
        ax.set_xlabel("iteration")
        ax.set_ylabel("training loss")
        if train and min(e["loss_avg"] for e in train) > 0:
            ax.set_yscale("log")
        ax.set_title(f"{name}: stage {stage}")
        if val:
            ax2 = ax.twinx()
            ax2.plot([e["iteration"] for e in val], [100 * e["cer"] for e in val], "o-",
                     color="tab:red", label="validation CER")
            ax2.set_ylabel("validation CER %")
            ax2.set_ylim(bottom=0)
        handles = ax.get_legend_handles_labels()
        if val:
            h2 = ax2.get_legend_handles_labels()
            handles = (handles[0] + h2[0], handles[1] + h2[1])
        ax.legend(*handles, loc="upper right", fontsize=8)
    fig.tight_layout()
    return svg(fig)


def spectra(decomposition, name):
    """Per layer, both unfoldings' singular values (normalised to the largest)
    with the chosen ranks marked."""
    layers = [d for d in decomposition if d.get("singular_values")]
    if not layers:
        return None
    cols = min(4, len(layers))
    rows = math.ceil(len(layers) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False)
    for ax in axes.flat[len(layers):]:
        ax.axis("off")
    for ax, d in zip(axes.flat, layers):
        sv = d["singular_values"]
        for mode, rank, colour, label in (("out", d["ranks"][1], "tab:blue", "mode S (output)"),
                                          ("in", d["ranks"][0], "tab:orange", "mode C (input)")):
            values = sv.get(mode) or []
            if not values or values[0] <= 0:
                continue
            ys = [max(v / values[0], 1e-6) for v in values]
            ax.semilogy(range(1, len(ys) + 1), ys, ".-", color=colour, label=label, ms=3)
            if rank:
                ax.axvline(rank, color=colour, ls="--", lw=1)
        ax.set_title(f"{d['layer']} ({d['method']}, ranks {d['ranks'][0]}, {d['ranks'][1]})",
                     fontsize=9)
        ax.set_xlabel("index", fontsize=8)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{name}: singular values of the kernel unfoldings (dashed: chosen rank)")
    fig.tight_layout()
    return svg(fig)


def model_rows(table, reports):
    """(label, is_teacher, footprint reduction, speedup, {set: CER %})."""
    rows = []
    if table:
        for r in table["rows"]:
            rows.append((r["label"], r.get("name") == "teacher", r["footprint_reduction"],
                         r["speedup"], {s: v for s, v in r["cer"].items() if v is not None}))
        return rows
    seen = set()
    for run, report in reports:
        for m in report.get("models", []):
            teacher = m["name"] == "teacher"
            label = m["name"] if teacher else f"{run}: {m['name']}"
            if label in seen:
                continue
            seen.add(label)
            cer = {s: 100 * v["cer"] for s, v in m.get("errors", {}).items()}
            rows.append((label, teacher, m["footprint_reduction"], m["speedup"], cer))
    return rows


def trade_off(rows, peers, x_index, x_label):
    sets = sorted({s for r in rows for s in r[4]})
    if not sets:
        return None
    fig, axes = plt.subplots(1, len(sets), figsize=(6.2 * len(sets), 4.2), squeeze=False)
    markers = "os^vDP*Xhp<>"
    for ax, s in zip(axes[0], sets):
        for i, row in enumerate(rows):
            if s not in row[4] or not row[x_index]:
                continue
            if row[1]:
                ax.plot(row[x_index], row[4][s], "k*", ms=14,
                        label=row[0] if "teacher" in row[0] else f"{row[0]} (teacher)")
            else:
                ax.plot(row[x_index], row[4][s], markers[i % len(markers)], ms=7, label=row[0])
        for peer in peers.get(s, []):
            ax.axhline(100 * peer["cer"], color="grey", ls=":",
                       label=f"{peer['label']}: CER {100 * peer['cer']:.2f}%")
        # Ratios on a log axis, written as ratios (2x, 10x), not powers of ten.
        ax.set_xscale("log")
        ratio = ticker.FuncFormatter(lambda v, _: f"{v:g}x")
        ax.xaxis.set_major_formatter(ratio)
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel(x_label)
        ax.set_ylabel(f"CER % on {s} (greedy)")
        ax.set_ylim(bottom=0)
        ax.set_title(s)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    # Below each plot, after the layout (which would otherwise shrink the
    # plots to make room): with a dozen rows a legend inside hides points.
    for ax in axes[0]:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    return svg(fig)


def read_peers(specs):
    """--peers SET=FILE: ocr_level.py JSON lines; the non-ocrcore engines."""
    peers = {}
    for spec in specs:
        set_name, sep, path = spec.partition("=")
        if not sep:
            raise SystemExit(f"compress-report: --peers wants SET=FILE, got '{spec}'")
        for e in read_json_lines(path):
            if e.get("engine") != "ocr-infer":
                label = "Tesseract 5 --psm 7" if e.get("engine") == "tesseract" else e["engine"]
                peers.setdefault(set_name, []).append({"label": label, "cer": e["cer"]})
    return peers


def table_html(rows):
    sets = sorted({s for r in rows for s in r[4]})
    head = "".join(f"<th>CER {html.escape(s)}</th>" for s in sets)
    body = []
    for label, _, footprint, speedup, cer in rows:
        cells = "".join(f"<td>{cer[s]:.2f}%</td>" if s in cer else "<td></td>" for s in sets)
        body.append(f"<tr><td>{html.escape(label)}</td><td>{footprint:.2f}x</td>"
                    f"<td>{speedup:.2f}x</td>{cells}</tr>")
    return (f"<table><tr><th>model</th><th>footprint reduction</th><th>speedup</th>{head}</tr>"
            + "".join(body) + "</table>")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="ocr-compress run directories")
    ap.add_argument("-o", "--output", required=True, help="the HTML file to write")
    ap.add_argument("--table", help="table.json of benchmarks/run_compress_table.sh")
    ap.add_argument("--peers", action="append", default=[],
                    help="SET=FILE: benchmarks/peers/ocr_level.py results on evaluation set SET")
    ap.add_argument("--title", default="ocrcore compression report")
    a = ap.parse_args()

    reports = []
    for run in a.runs:
        path = os.path.join(run, "report.json")
        if not os.path.exists(path):
            raise SystemExit(f"compress-report: {path}: no report (has ocr-compress finished?)")
        with open(path, encoding="utf-8") as f:
            try:
                reports.append((os.path.basename(os.path.normpath(run)), json.load(f)))
            except json.JSONDecodeError as e:
                raise SystemExit(f"compress-report: {path}: not JSON ({e})")
    table = None
    if a.table:
        with open(a.table, encoding="utf-8") as f:
            table = json.load(f)
    peers = read_peers(a.peers)

    sections = []
    rows = model_rows(table, reports)
    if rows:
        sections.append("<h2>Accuracy against size and speed</h2>" + table_html(rows))
        for x_index, x_label in ((2, "footprint reduction (teacher / model, fp32 parameters)"),
                                 (3, "speedup (teacher latency / model latency, 1 thread)")):
            plot = trade_off(rows, peers, x_index, x_label)
            if plot:
                sections.append(f"<figure>{plot}</figure>")
    for run, (name, report) in zip(a.runs, reports):
        parts = []
        curves = stage_curves(run, name)
        if curves:
            parts.append(f"<figure>{curves}</figure>")
        spectrum = spectra(report.get("decomposition", []), name)
        if spectrum:
            parts.append(f"<figure>{spectrum}</figure>")
        if parts:
            sections.append(f"<h2>Run {html.escape(name)}</h2>" + "".join(parts))

    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(a.title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
figure {{ margin: 1em 0; }}
figure svg {{ max-width: 100%; height: auto; }}
</style></head>
<body><h1>{html.escape(a.title)}</h1>
{"".join(sections)}
</body></html>
"""
    tmp = f"{a.output}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, a.output)
    print(f"compress-report: wrote {a.output} ({len(sections)} sections)")


if __name__ == "__main__":
    main()

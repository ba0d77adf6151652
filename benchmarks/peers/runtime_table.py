#!/usr/bin/python3
"""Markdown tables from the JSON lines benchmarks/run_runtime.sh collects."""
import argparse
import json
from collections import defaultdict


def print_parts(prof, parts):
    """Latency split into the convolutional part and the sequence part (collapse,
    DBLSTM, output layer, log-softmax): ocrcore's per-op profile against ONNX
    Runtime timed on the model cut in two (ort_split.py, ort_parts.js)."""
    ops = prof["ops"]
    names = [o["op"] for o in ops]
    cut = names.index("collapse")
    cnn = sum(o["ms_per_line"] for o in ops[:cut])
    seq = sum(o["ms_per_line"] for o in ops[cut:] if o["op"] != "primitive creation")
    lstm = sum(o["ms_per_line"] for o in ops if o["op"].startswith("lstm"))
    print("Where the time goes at batch 1, one thread (ocrcore: `bench_runtime --profile`; "
          "ONNX Runtime: the exported model cut at the last feature map, each part timed "
          "on the same lines; separate runs from the table above):\n")
    print("| part | ocrcore ms/line | ONNX Runtime ms/line | ocrcore speedup |")
    print("|---|---:|---:|---:|")
    ort_cnn, ort_seq = parts["cnn_ms_per_line"], parts["sequence_ms_per_line"]
    print(f"| convolutional layers | {cnn:.3f} | {ort_cnn:.3f} | {ort_cnn / cnn:.2f}x |")
    print(f"| sequence (collapse, DBLSTM, output) | {seq:.3f} | {ort_seq:.3f} | {ort_seq / seq:.2f}x |")
    print(f"| of which DBLSTM | {lstm:.3f} | - | - |\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--header", default="")
    a = ap.parse_args()
    rows = [json.loads(l) for l in open(a.results) if l.strip()]
    print("# End-to-end runtime: ocrcore against its peers\n")
    print(a.header + "\n")
    print("Same weights and the same normalised lines for every engine (ocrcore exports them).")
    print("Latency: ms per line, batch 1, one thread, median of the runs. Throughput: lines/s")
    print("with all threads at the best batch size (lines sorted by width; peers pad a batch to")
    print("its widest line, ocrcore masks per line). Ratios are ocrcore's advantage (x faster).")
    print("The reference backend is timed on the first 5 lines, once (it is the oracle).")
    print("ocrcore-int8: int8 convolutions and LSTMs (`--conv-precision int8 --lstm-precision int8`,")
    print("ocr-infer's default on CPUs with AVX-512 VNNI); ocrcore: fp32. onnxruntime-int8: the")
    print("same int8 weights as ONNX Runtime runs them (`ocr-convert --quantize int8 --calibrate`:")
    print("QDQ convolutions fused into QLinearConv, static activation scales from 100 rendered")
    print("lines of their own; LSTMs as DynamicQuantizeLSTM).\n")
    by = defaultdict(dict)
    for r in rows:
        by[(r["model"], r["set"])][r["engine"]] = r
    peer_names = {"tesseract": "Tesseract 5 (--psm 7, eng, 1 thread)",
                  "paddleocr": "PaddleOCR PP-OCRv4 recogniser (ONNX Runtime, 1 thread)"}
    for (model, set_name), engines in by.items():
        if model in peer_names:
            continue
        core = engines.get("ocrcore")
        if not core:
            continue
        print(f"## {model} on {set_name} ({core['lines']} lines, mean width {core['mean_width']:.0f} px)\n")
        # int8 (both precisions, where the CPU has VNNI): its own speedup columns.
        q = engines.get("ocrcore-int8")
        print("| engine | latency ms | ocrcore speedup | throughput lines/s | best batch | ocrcore speedup | "
              + ("ocrcore int8 speedup (latency, throughput) | " if q else "") + "peak RSS MB |")
        print("|---|---|---|---|---|---|" + ("---|" if q else "") + "---|")
        for name in ["ocrcore", "ocrcore-int8", "ocrcore-reference", "pytorch", "onnxruntime",
                     "onnxruntime-int8"]:
            e = engines.get(name)
            if not e:
                continue
            lat = e["latency_ms"]
            thr = e.get("throughput_lines_per_s") if name != "ocrcore-reference" else None
            int8 = ""
            if q:
                int8 = f"{lat / q['latency_ms']:.2f}x, " + (
                    f"{q['throughput_lines_per_s'] / thr:.2f}x | " if thr else "- | ")
            print(f"| {name} | {lat:.2f} | {lat / core['latency_ms']:.2f}x | "
                  + (f"{thr:.1f} | {e['best_batch']} | {core['throughput_lines_per_s'] / thr:.2f}x | "
                     if thr else "- | - | - | ")
                  + int8 + f"{e.get('peak_rss_mb', 0):.0f} |")
        print()
        prof, parts = engines.get("ocrcore-profile"), engines.get("onnxruntime-parts")
        if prof and parts:
            print_parts(prof, parts)
        tb = core.get("throughput_by_batch", {})
        if tb:
            print("ocrcore throughput by batch size: "
                  + ", ".join(f"{b}: {v:.1f}" for b, v in sorted(tb.items(), key=lambda x: int(x[0])))
                  + " lines/s\n")
    print("## OCR level: image files to text, one thread\n")
    print("benchmarks/peers/ocr_level.py: each engine is one process reading the set's images "
          "(the list repeated to at least 200 lines), timed from start to exit, start-up and "
          "model loading included; the engines take turns in each of 3 rounds, medians. "
          "CER of all scored by the same code.\n")
    print("| set | engine | CER | lines/s | ocrcore speedup |")
    print("|---|---|---|---|---|")
    tess = {s: e["tesseract"] for (m, s), e in by.items() if m == "tesseract"}
    for (model, set_name), engines in by.items():
        if model in peer_names or "ocr-infer" not in engines:
            continue
        e = engines["ocr-infer"]
        t = tess.get(set_name)
        ratio = f"{e['lines_per_s'] / t['lines_per_s']:.1f}x vs Tesseract" if t else "-"
        print(f"| {set_name} | ocrcore {model} (ocr-infer -t 1) | {e['cer'] * 100:.2f}% | "
              f"{e['lines_per_s']:.1f} | {ratio} |")
    for (model, set_name), engines in by.items():
        if model in peer_names:
            e = engines[model]
            print(f"| {set_name} | {peer_names[model]} | {e['cer'] * 100:.2f}% | "
                  f"{e['lines_per_s']:.1f} | |")


if __name__ == "__main__":
    main()

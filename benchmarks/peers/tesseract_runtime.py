#!/usr/bin/python3
"""Tesseract 5 peer for the OCR-level comparison: reads the line images of a
directory (NAME.png / NAME.bin.png with NAME.gt.txt) in one tesseract process
(--psm 7, eng, one thread by default), repeated --runs times, and prints one
JSON object: CER/WER as DESIGN.md section 5 defines them and lines/s (median).
The list is repeated until it holds at least --min-lines lines so that the
process start-up (about half a second) is amortised as in a real batch job.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time


def normalise(text):
    return " ".join(text.split())


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("directory")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-lines", type=int, default=200)
    a = ap.parse_args()
    images = sorted(
        os.path.join(a.directory, f) for f in os.listdir(a.directory) if f.endswith(".png"))
    truth = []
    for p in images:
        gt = p[: -len(".bin.png")] if p.endswith(".bin.png") else p[: -len(".png")]
        with open(gt + ".gt.txt", encoding="utf-8") as f:
            truth.append(normalise(f.read()))
    repeat = max(1, -(-a.min_lines // len(images)))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as lst:
        lst.write("\n".join(images * repeat) + "\n")
    env = dict(os.environ, OMP_THREAD_LIMIT=str(a.threads))
    times, text = [], ""
    for _ in range(a.runs):
        t0 = time.perf_counter()
        text = subprocess.run(["tesseract", lst.name, "stdout", "--psm", "7", "-l", "eng"],
                              env=env, capture_output=True, check=True, text=True).stdout
        times.append(time.perf_counter() - t0)
    os.unlink(lst.name)
    pages = text.split("\f")[: len(images)]
    chars = words = ref_chars = ref_words = 0
    for hyp, ref in zip(pages, truth):
        hyp = normalise(hyp)
        chars += edit_distance(hyp, ref)
        words += edit_distance(hyp.split(), ref.split())
        ref_chars += len(ref)
        ref_words += len(ref.split())
    t = statistics.median(times) / repeat
    print(json.dumps({"engine": "tesseract", "lines": len(images), "repeat": repeat,
                      "cer": chars / ref_chars, "wer": words / ref_words,
                      "lines_per_s": len(images) / t, "ms_per_line": t / len(images) * 1e3,
                      "threads": a.threads}))


if __name__ == "__main__":
    main()

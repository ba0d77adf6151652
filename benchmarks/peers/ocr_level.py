#!/usr/bin/python3
"""OCR-level comparison, image files to text: runs Tesseract 5 (--psm 7, eng),
PaddleOCR's PP-OCRv4 recogniser (ONNX Runtime; paddleocr_rec.js beside this
file, node modules from tests/onnx: npm ci there) and ocrcore's ocr-infer (one
or more models) over the line images of a
directory and its subdirectories (NAME.png / NAME.bin.png with NAME.gt.txt) and prints one JSON
object per engine with CER/WER as DESIGN.md section 5 defines them, lines/s
and the process's peak resident memory (its ru_maxrss).

Every engine gets the same protocol: one process reads a list of the images,
repeated until it holds at least --min-lines lines, and its wall time from
start to exit is the figure (median of --runs rounds; the engines take turns
within each round, so a noisy neighbour slows all of them alike). Process
start-up (model loading included) is thus paid once per run by each, as in a
batch job, and all output texts are scored here by the same code.

  ocr_level.py DIR --tesseract --paddleocr --ocr-infer build/tools/ocr-infer \
      --model compact=models/compact-printed.ocrm [--model ...]
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


def score(text, engine, truth):
    # Tesseract ends each image's text with a form feed; ocr-infer writes a line per image.
    outputs = (text.split("\f") if engine == "tesseract" else text.split("\n"))[: len(truth)]
    if len(outputs) < len(truth):
        raise SystemExit(f"{engine}: {len(outputs)} outputs for {len(truth)} images")
    chars = words = ref_chars = ref_words = 0
    for hyp, ref in zip(outputs, truth):
        hyp = normalise(hyp)
        chars += edit_distance(hyp, ref)
        words += edit_distance(hyp.split(), ref.split())
        ref_chars += len(ref)
        ref_words += len(ref.split())
    return chars / ref_chars, words / ref_words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("directory")
    ap.add_argument("--tesseract", action="store_true", help="time Tesseract")
    ap.add_argument("--tesseract-whitelist", default="",
                    help="the only characters Tesseract may read (tessedit_char_whitelist), as a "
                         "user reading digit strings sets it")
    ap.add_argument("--paddleocr", action="store_true",
                    help="time PaddleOCR's PP-OCRv4 recogniser (node, tests/onnx/node_modules)")
    ap.add_argument("--ocr-infer", help="path of ocr-infer, to time each --model with")
    ap.add_argument("--model", action="append", default=[],
                    help="NAME=PATH.ocrm, optionally followed by ocr-infer options "
                         "(\"lm=m.ocrm --lm lm.arpa\")")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-lines", type=int, default=200)
    ap.add_argument("--limit", type=int, default=0,
                    help="only the first N images (with --min-lines 1 and --limit 1: start-up time)")
    a = ap.parse_args()
    if a.model and not a.ocr_infer:
        ap.error("--model needs --ocr-infer")
    images = sorted(
        os.path.abspath(os.path.join(root, f))
        for root, _, files in os.walk(a.directory) for f in files if f.endswith(".png"))
    if a.limit > 0:
        images = images[: a.limit]
    truth = []
    for p in images:
        gt = p[: -len(".bin.png")] if p.endswith(".bin.png") else p[: -len(".png")]
        with open(gt + ".gt.txt", encoding="utf-8") as f:
            truth.append(normalise(f.read()))
    repeat = max(1, -(-a.min_lines // len(images)))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as lst:
        lst.write("\n".join(images * repeat) + "\n")
    engines = []  # (engine, model name, command)
    if a.tesseract:
        whitelist = ["-c", f"tessedit_char_whitelist={a.tesseract_whitelist}"] \
            if a.tesseract_whitelist else []
        engines.append(("tesseract", None, ["tesseract", lst.name, "stdout", "--psm", "7", "-l", "eng"]
                        + whitelist))
    here = os.path.dirname(os.path.abspath(__file__))
    node_modules = os.path.join(here, "..", "..", "tests", "onnx", "node_modules")
    if a.paddleocr:
        if not os.path.isdir(os.path.join(node_modules, "@gutenye", "ocr-models")):
            raise SystemExit(f"ocr_level: no PaddleOCR model in {node_modules} (npm ci in tests/onnx)")
        engines.append(("paddleocr", None, ["node", os.path.join(here, "paddleocr_rec.js"), lst.name,
                                            str(a.threads)]))
    for spec in a.model:
        name, _, rest = spec.partition("=")
        path, *options = rest.split()
        # ocr-infer's default batch size (one line per thread).
        engines.append(("ocr-infer", name,
                        [a.ocr_infer, "-q", "--model", path, "-t", str(a.threads)] + options +
                        ["@" + lst.name]))
    env = dict(os.environ, OMP_THREAD_LIMIT=str(a.threads), NODE_PATH=os.path.abspath(node_modules))
    times = [[] for _ in engines]
    peaks = [[] for _ in engines]
    texts = [""] * len(engines)
    for _ in range(a.runs):
        for i, (_, _, command) in enumerate(engines):
            with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
                t0 = time.perf_counter()
                proc = subprocess.Popen(command, env=env, stdout=out, stderr=err)
                _, status, usage = os.wait4(proc.pid, 0)
                times[i].append(time.perf_counter() - t0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                out.seek(0)
                err.seek(0)
                if proc.returncode != 0:
                    raise SystemExit(f"{command[0]} failed ({proc.returncode}): "
                                     f"{err.read().decode(errors='replace')}")
                texts[i] = out.read().decode()
            peaks[i].append(usage.ru_maxrss / 1024)  # KiB on Linux
    os.unlink(lst.name)
    total = len(images) * repeat
    for (engine, name, _), text, ts, mb in zip(engines, texts, times, peaks):
        cer, wer = score(text, engine, truth)
        t = statistics.median(ts)
        out = {"engine": engine, "lines": len(images), "repeat": repeat, "cer": cer, "wer": wer,
               "lines_per_s": total / t, "ms_per_line": t / total * 1e3, "seconds": ts,
               "peak_rss_mb": statistics.median(mb), "threads": a.threads}
        if name:
            out["model"] = name
        if engine == "tesseract" and a.tesseract_whitelist:
            out["whitelist"] = a.tesseract_whitelist
        print(json.dumps(out))


if __name__ == "__main__":
    main()

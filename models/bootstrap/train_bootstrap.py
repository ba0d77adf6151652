#!/usr/bin/python3
"""Bootstrap: a small printed-English CNN-BLSTM-CTC model for ocrcore's demo.

A stopgap until ocrcore's own trainer (ocr-train) and renderer (ocr-synth)
exist: renders text lines with PIL in fonts from Debian packages, trains with
Debian's python3-torch on CPU, and writes models/default.ocrm plus the sample
line images of models/samples/. Deterministic for a given --seed (up to
PyTorch's CPU kernels).

    /usr/bin/python3 models/bootstrap/train_bootstrap.py --minutes 25

Needs: python3-torch python3-pil fonts-urw-base35 fonts-liberation2
fonts-dejavu-core (scripts/setup-deps.sh --with-peers installs them).
"""
import argparse
import glob
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from ocrcore_format import read_safetensors, write_model  # noqa: E402

HEIGHT = 32
ALPHABET = [""] + [chr(c) for c in range(32, 127)]  # blank + printable ASCII
CLASS = {ch: i for i, ch in enumerate(ALPHABET) if i}

FONT_GLOBS = [
    "/usr/share/fonts/opentype/urw-base35/NimbusRoman-*.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSans-*.otf",
    "/usr/share/fonts/opentype/urw-base35/C059-*.otf",
    "/usr/share/fonts/opentype/urw-base35/P052-*.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusMonoPS-*.otf",
    "/usr/share/fonts/truetype/liberation2/Liberation*.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif*.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSerif*.ttf",
]


def load_corpus():
    """English technical prose from installed licence and copyright texts."""
    files = sorted(glob.glob("/usr/share/common-licenses/*"))
    files += sorted(glob.glob("/usr/share/doc/*/copyright"))[:400]
    words = []
    for f in files:
        try:
            with open(f, encoding="utf-8", errors="ignore") as fh:
                words += [w for w in fh.read().split()
                          if all(c in CLASS for c in w) and len(w) < 25]
        except OSError:
            pass
    if len(words) < 1000:
        sys.exit("corpus too small: are /usr/share/common-licenses and /usr/share/doc there?")
    return words


def random_text(words, rng):
    n = rng.randint(6, 40)
    i = rng.randrange(len(words))
    out = []
    while len(" ".join(out)) < n:
        out.append(words[i % len(words)])
        i += 1
    text = " ".join(out)
    if len(text) > n:  # end on a word boundary
        text = text[:n].rsplit(" ", 1)[0] if " " in text[:n] else out[0]
    if rng.random() < 0.15:  # digits and punctuation are rare in licences
        text = f"{rng.randint(0, 99999)}{rng.choice(',.;:-/()%$#')} " + text
    return text


def render(text, font_path, rng):
    """Dark text on light paper, cropped to the line like a segmenter would."""
    size = rng.randint(22, 44)
    font = ImageFont.truetype(font_path, size)
    left, top, right, bottom = font.getbbox(text)
    ascent, descent = font.getmetrics()
    pad_x = rng.randint(2, 12)
    w = right - left + 2 * pad_x
    h = ascent + descent + rng.randint(2, 10)
    paper = rng.randint(200, 255)
    img = Image.new("L", (max(w, 8), h), paper)
    ink = rng.randint(0, 70)
    ImageDraw.Draw(img).text((pad_x - left, rng.randint(0, h - ascent - descent)), text,
                             font=font, fill=ink)
    if rng.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.0)))
    a = np.asarray(img, dtype=np.float32)
    if rng.random() < 0.3:
        a = a + np.random.default_rng(rng.randrange(1 << 30)).normal(0, rng.uniform(2, 12), a.shape)
    if rng.random() < 0.4:  # binarised scans, like UW-III
        a = np.where(a < (paper + ink) / 2, 0, 255)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def normalize(img):
    """Mirror of ocrcore::normalize_line: median paper -> 0, darkest 1% -> 1,
    area-averaged to HEIGHT with the aspect ratio kept."""
    w, h = img.size
    W = max(1, round(w * HEIGHT / h))
    a = np.asarray(img, dtype=np.float32)
    bg = np.percentile(a, 50, method="lower")
    ink = np.percentile(a, 1, method="lower")
    rng_ = bg - ink if bg - ink >= 16 else 255.0
    x = np.clip((bg - a) / rng_, 0, 1)
    x = Image.fromarray(x.astype(np.float32), mode="F").resize((W, HEIGHT), Image.BOX)
    return torch.from_numpy(np.asarray(x, dtype=np.float32).copy())


ARCHITECTURE = {
    "input_height": HEIGHT,
    "layers": [
        {"type": "conv2d", "name": "cnn.0", "in_channels": 1, "out_channels": 16, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d", "name": "cnn.1", "num_features": 16},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
        {"type": "conv2d", "name": "cnn.4", "in_channels": 16, "out_channels": 32, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d", "name": "cnn.5", "num_features": 32},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
        {"type": "conv2d", "name": "cnn.8", "in_channels": 32, "out_channels": 64, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d", "name": "cnn.9", "num_features": 64},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
        {"type": "conv2d", "name": "cnn.12", "in_channels": 64, "out_channels": 64, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d", "name": "cnn.13", "num_features": 64},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": [2, 1], "stride": [2, 1]},
        {"type": "collapse"},
        {"type": "lstm", "name": "rnn", "input_size": 128, "hidden_size": 96, "num_layers": 2, "bidirectional": True},
        {"type": "linear", "name": "fc", "in_features": 192, "out_features": len(ALPHABET)},
    ],
}


class CRNN(nn.Module):
    def __init__(self):
        super().__init__()
        layers = []
        for spec in ARCHITECTURE["layers"]:
            t = spec["type"]
            if t == "conv2d":
                layers.append(nn.Conv2d(spec["in_channels"], spec["out_channels"], spec["kernel_size"],
                                        padding=spec["padding"]))
            elif t == "batchnorm2d":
                layers.append(nn.BatchNorm2d(spec["num_features"]))
            elif t == "relu":
                layers.append(nn.ReLU())
            elif t == "maxpool2d":
                layers.append(nn.MaxPool2d(spec["kernel_size"], spec.get("stride")))
            elif t == "collapse":
                break
        self.cnn = nn.Sequential(*layers)
        rnn = ARCHITECTURE["layers"][-2]
        self.rnn = nn.LSTM(rnn["input_size"], rnn["hidden_size"], num_layers=rnn["num_layers"],
                           bidirectional=True)
        self.fc = nn.Linear(2 * rnn["hidden_size"], len(ALPHABET))

    def forward(self, x, frames):
        f = self.cnn(x)
        n, c, h, w = f.shape
        seq = f.permute(3, 0, 1, 2).reshape(w, n, c * h)
        packed = nn.utils.rnn.pack_padded_sequence(seq, frames, enforce_sorted=False)
        y, _ = self.rnn(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(y, total_length=w)
        return torch.log_softmax(self.fc(y), dim=-1)  # T, N, K


def frames_for(width):
    return max(1, width // 4)


def make_batch(samples):
    samples = sorted(samples, key=lambda s: -s[0].shape[1])
    W = samples[0][0].shape[1]
    x = torch.zeros(len(samples), 1, HEIGHT, W)
    for i, (img, _) in enumerate(samples):
        x[i, 0, :, : img.shape[1]] = img
    frames = torch.tensor([frames_for(s[0].shape[1]) for s in samples])
    targets = [torch.tensor([CLASS[c] for c in s[1]]) for s in samples]
    return x, frames, targets, [s[1] for s in samples]


def greedy(lp):
    out, prev = [], 0
    for k in lp.argmax(-1).tolist():
        if k and k != prev:
            out.append(ALPHABET[k])
        prev = k
    return "".join(out)


def levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[-1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def evaluate(model, data):
    model.eval()
    errors = chars = 0
    with torch.no_grad():
        for i in range(0, len(data), 32):
            x, frames, _, texts = make_batch(data[i:i + 32])
            lp = model(x, frames)
            for b, text in enumerate(texts):
                errors += levenshtein(greedy(lp[: frames[b], b]), text)
                chars += len(text)
    model.train()
    return errors / max(1, chars)


def write_samples(lines, folder):
    os.makedirs(folder, exist_ok=True)
    for i, (img, text) in enumerate(lines):
        img.save(os.path.join(folder, f"{i + 1:06d}.png"))
        with open(os.path.join(folder, f"{i + 1:06d}.gt.txt"), "w") as f:
            f.write(text + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "default.ocrm"))
    ap.add_argument("--samples", default=os.path.join(ROOT, "models", "samples"))
    ap.add_argument("--log", default="/tmp/ocrcore-bootstrap.jsonl")
    ap.add_argument("--init", help="start from these weights (.ocrm model or .pt state_dict)")
    ap.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (cosine decay)")
    ap.add_argument("--samples-only", action="store_true",
                    help="only render the sample lines of --samples (no training)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    words = load_corpus()
    fonts = sorted(f for g in FONT_GLOBS for f in glob.glob(g))
    if not fonts:
        sys.exit("no fonts found: install fonts-urw-base35 fonts-liberation2 fonts-dejavu-core")

    def sample(r):
        text = random_text(words, r)
        img = render(text, r.choice(fonts), r)
        return img, text

    # Held-out lines come from their own seed so training never sees them.
    test_rng = random.Random(args.seed + 1000)
    held_out = [sample(test_rng) for _ in range(300)]
    if args.samples_only:
        write_samples(held_out[:12], args.samples)
        return
    test = [(normalize(img), text) for img, text in held_out]

    model = CRNN()
    if args.init and args.init.endswith(".pt"):
        model.load_state_dict(torch.load(args.init))
    elif args.init:
        tensors, _ = read_safetensors(args.init)
        state = model.state_dict()
        state.update({k: torch.from_numpy(v) for k, v in tensors.items()})
        model.load_state_dict(state)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    start, step, best = time.time(), 0, 1.0
    budget = args.minutes * 60
    best_path = args.out + ".best.pt"
    if os.path.exists(best_path):
        os.remove(best_path)
    log = open(args.log, "w")
    pending = []
    while time.time() - start < budget:
        if not pending:  # lines of similar width share a batch: little padding
            pool = sorted(((normalize(i), t) for i, t in (sample(rng) for _ in range(8 * args.batch))),
                          key=lambda s: s[0].shape[1])
            pending = [pool[k:k + args.batch] for k in range(0, len(pool), args.batch)]
            rng.shuffle(pending)
        x, frames, targets, _ = make_batch(pending.pop())
        lp = model(x, frames)
        loss = ctc(lp, torch.cat(targets), frames, torch.tensor([len(t) for t in targets]))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        frac = (time.time() - start) / budget
        for g in opt.param_groups:  # cosine decay over the time budget
            g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))
        opt.step()
        step += 1
        if step % 200 == 0:
            cer = evaluate(model, test)
            elapsed = time.time() - start
            rec = {"step": step, "loss": round(loss.item(), 4), "test_cer": round(cer, 5),
                   "elapsed_s": round(elapsed), "eta_s": round(budget - elapsed)}
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            if cer <= best:
                best = cer
                torch.save(model.state_dict(), best_path)
    if evaluate(model, test) <= best or not os.path.exists(best_path):
        torch.save(model.state_dict(), best_path)
    model.load_state_dict(torch.load(best_path))
    model.eval()
    cer = evaluate(model, test)
    write_model(args.out, model.state_dict(), ARCHITECTURE, ALPHABET, extra={
        "generator": "models/bootstrap/train_bootstrap.py",
        "training": json.dumps({"steps": step, "minutes": args.minutes, "seed": args.seed,
                                "batch": args.batch, "lr": args.lr, "init": bool(args.init),
                                "heldout_rendered_cer": round(cer, 5)}),
    })
    write_samples(held_out[:12], args.samples)
    print(json.dumps({"done": True, "weights": best_path, "steps": step, "heldout_rendered_cer": cer, "model": args.out}))


if __name__ == "__main__":
    main()

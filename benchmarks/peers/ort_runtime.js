// ONNX Runtime (onnxruntime-node, CPU) peer of bench_runtime: runs a model
// exported by ocr-convert with the same protocol on the same normalised lines
// (latency: batch 1, one intra-op thread, each line at its own width;
// throughput: all threads, width-sorted batches padded to their widest line).
// Prints one JSON object.
//   node ort_runtime.js MODEL.onnx LINES.bin [batches=1,2,4,8,16,32] [runs=5] [threads]
// onnxruntime-node is installed by `npm ci` in tests/onnx (NODE_PATH points there).
const fs = require('fs');
const os = require('os');
const ort = require('onnxruntime-node');

function readLines(path) {
  const buf = fs.readFileSync(path);
  if (buf.toString('latin1', 0, 4) !== 'OCRL') throw new Error(`${path}: not a lines file`);
  const count = buf.readInt32LE(4), height = buf.readInt32LE(8);
  let offset = 12 + 4 * count;
  const lines = [];
  for (let i = 0; i < count; ++i) {
    const width = buf.readInt32LE(12 + 4 * i);
    const n = height * width;
    const pixels = new Float32Array(n);
    for (let k = 0; k < n; ++k) pixels[k] = buf.readFloatLE(offset + 4 * k);
    offset += 4 * n;
    lines.push({ height, width, pixels });
  }
  return lines;
}

function batchTensor(lines) {
  const h = lines[0].height;
  const w = Math.max(...lines.map((l) => l.width));
  const data = new Float32Array(lines.length * h * w);
  lines.forEach((l, b) => {
    for (let y = 0; y < h; ++y)
      data.set(l.pixels.subarray(y * l.width, (y + 1) * l.width), (b * h + y) * w);
  });
  return new ort.Tensor('float32', data, [lines.length, 1, h, w]);
}

const median = (v) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function timeRuns(session, feeds, runs) {
  const name = session.inputNames[0];
  const rates = [];
  for (const x of feeds) await session.run({ [name]: x });  // warm-up
  for (let r = 0; r < runs; ++r) {
    const t0 = process.hrtime.bigint();
    for (const x of feeds) await session.run({ [name]: x });
    rates.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(rates);
}

(async () => {
  const [model, linesPath, batchesText, runsText, threadsText] = process.argv.slice(2);
  const batches = (batchesText || '1,2,4,8,16,32').split(',').map(Number);
  const runs = Number(runsText || 5);
  const threads = Number(threadsText || os.cpus().length);
  const lines = readLines(linesPath);
  const out = { engine: 'onnxruntime', version: require('onnxruntime-node/package.json').version,
                lines: lines.length };

  const single = await ort.InferenceSession.create(model,
      { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  out.latency_ms = (await timeRuns(single, lines.map((l) => batchTensor([l])), runs)) /
      lines.length * 1e3;

  const multi = await ort.InferenceSession.create(model,
      { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
  const ordered = lines.slice().sort((a, b) => a.width - b.width);
  const byBatch = {};
  for (const b of batches) {
    const feeds = [];
    for (let i = 0; i < ordered.length; i += b) feeds.push(batchTensor(ordered.slice(i, i + b)));
    byBatch[b] = lines.length / (await timeRuns(multi, feeds, runs));
  }
  const best = Object.keys(byBatch).reduce((a, b) => (byBatch[a] >= byBatch[b] ? a : b));
  Object.assign(out, { threads, throughput_lines_per_s: byBatch[best], best_batch: Number(best),
                       throughput_by_batch: byBatch,
                       peak_rss_mb: process.resourceUsage().maxRSS / 1024 });
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});

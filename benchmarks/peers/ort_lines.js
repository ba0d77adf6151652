// Shared by the ONNX Runtime peers: reads bench_runtime's normalised lines
// file (OCRL: count, height, widths, then float pixels row-major per line),
// packs lines into one zero-padded NCHW batch tensor, and times passes.
const fs = require('fs');
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

// Seconds for one pass of `session` over every input tensor in `feeds`.
async function timePass(session, feeds) {
  const name = session.inputNames[0];
  const t0 = process.hrtime.bigint();
  for (const x of feeds) await session.run({ [name]: x });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

module.exports = { readLines, batchTensor, median, timePass };

// ONNX Runtime (onnxruntime-node, CPU) peer of bench_runtime: runs a model
// exported by ocr-convert with the same protocol on the same normalised lines
// (latency: batch 1, one intra-op thread, each line at its own width;
// throughput: all threads, width-sorted batches padded to their widest line).
// Prints one JSON object.
//   node ort_runtime.js MODEL.onnx LINES.bin [batches=1,2,4,8,16,32] [runs=5] [threads] [name]
// name: the engine's name in the output (default onnxruntime; the int8 QDQ
// model that ocr-convert --quantize int8 writes is reported as onnxruntime-int8).
// onnxruntime-node is installed by `npm ci` in tests/onnx (NODE_PATH points there).
const os = require('os');
const ort = require('onnxruntime-node');
const { readLines, batchTensor, median, timePass } = require('./ort_lines.js');

// Median seconds of `runs` passes over `feeds`, after one warm-up pass.
async function timeRuns(session, feeds, runs) {
  await timePass(session, feeds);
  const seconds = [];
  for (let r = 0; r < runs; ++r) seconds.push(await timePass(session, feeds));
  return median(seconds);
}

(async () => {
  const [model, linesPath, batchesText, runsText, threadsText, name] = process.argv.slice(2);
  const batches = (batchesText || '1,2,4,8,16,32').split(',').map(Number);
  const runs = Number(runsText || 5);
  const threads = Number(threadsText || os.cpus().length);
  const lines = readLines(linesPath);
  const out = { engine: name || 'onnxruntime', version: require('onnxruntime-node/package.json').version,
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

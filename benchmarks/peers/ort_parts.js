// ONNX Runtime timed on the two parts of a model (ort_split.py), with the
// latency protocol of ort_runtime.js (batch 1, one intra-op thread, each line
// at its own width): the convolutional part on each line's image, the
// sequence part on the feature map the first part produced for it. Prints
// one JSON object with milliseconds per line of each part.
//   node ort_parts.js CNN.onnx SEQUENCE.onnx LINES.bin [runs=5]
const ort = require('onnxruntime-node');
const { readLines, batchTensor, median, timePass } = require('./ort_lines.js');

(async () => {
  const [cnnPath, seqPath, linesPath, runsText] = process.argv.slice(2);
  const runs = Number(runsText || 5);
  const lines = readLines(linesPath);
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };
  const cnn = await ort.InferenceSession.create(cnnPath, options);
  const seq = await ort.InferenceSession.create(seqPath, options);
  const images = lines.map((l) => batchTensor([l]));
  const maps = [];
  for (const x of images) {
    const out = await cnn.run({ [cnn.inputNames[0]]: x });
    maps.push(out[cnn.outputNames[0]]);
  }
  await timePass(seq, maps);  // warm-up (the first part's was the pass above)
  const perLine = (s) => (s / lines.length) * 1e3;
  // The two parts take turns, so that a noisy neighbour slows both alike.
  const cnnMs = [], seqMs = [];
  for (let r = 0; r < runs; ++r) {
    cnnMs.push(perLine(await timePass(cnn, images)));
    seqMs.push(perLine(await timePass(seq, maps)));
  }
  console.log(JSON.stringify({ engine: 'onnxruntime-parts', lines: lines.length,
                               cnn_ms_per_line: median(cnnMs), sequence_ms_per_line: median(seqMs) }));
})().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});

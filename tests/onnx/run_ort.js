// Runs an ONNX model in ONNX Runtime (CPU) on a float32 input read from a raw
// file and writes the first output as raw float32. Prints the output dims as
// JSON. Used by ocrcore's ONNX export tests:
//   node run_ort.js MODEL.onnx INPUT.bin N,C,H,W OUTPUT.bin [threads]
// With ORT_VERBOSE=1, ONNX Runtime logs its graph rewrites to stderr (the
// tests count the QDQ groups it fused into int8 kernels: "Matched Conv").
const fs = require('fs');
const ort = require('onnxruntime-node');

(async () => {
  const [model, inputPath, dimsText, outputPath, threads] = process.argv.slice(2);
  const dims = dimsText.split(',').map(Number);
  const bytes = fs.readFileSync(inputPath);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const options = { intraOpNumThreads: Number(threads || 1), interOpNumThreads: 1 };
  if (process.env.ORT_VERBOSE === '1') Object.assign(options, { logSeverityLevel: 0, logVerbosityLevel: 0 });
  const session = await ort.InferenceSession.create(model, options);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  const result = await session.run(feeds);
  const out = result[session.outputNames[0]];
  fs.writeFileSync(outputPath, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
  console.log(JSON.stringify({ dims: out.dims }));
})().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});

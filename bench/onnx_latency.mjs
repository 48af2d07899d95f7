// Inference latency in Node: the pretrained RNN-SPN exported with exportOnnx under ONNX Runtime Web
// (WASM execution provider) against the library itself (dist/node, wasm backend), in one process,
// alternating (the order flipped every round, one warm-up round), on cluttered-MNIST test
// sequences; one thread each (tfjs-backend-wasm runs one in Node). Prints a markdown table of
// medians and the load average (the machine may be shared).
//
//   deno task build && npm ci --prefix tests/ort
//   MNIST_DIR=../shared/mnist node bench/onnx_latency.mjs [--reps 15] [--batches 1,64]
import { parseArgs } from "node:util";
import { loadavg } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = new URL("../", import.meta.url);
const { values: args } = parseArgs({
  options: { reps: { type: "string", default: "15" }, batches: { type: "string", default: "1,64" } },
});
const reps = Number(args.reps);
const batches = args.batches.split(",").map(Number);
if (!Number.isInteger(reps) || reps < 1) {
  throw new Error(`--reps must be a positive integer; got ${args.reps}`);
}
if (!batches.every((b) => Number.isInteger(b) && b >= 1)) {
  throw new Error(`--batches: positive integers; got ${args.batches}`);
}

const lib = await import(new URL("dist/node/rnnspn.js", root).href);
const ort = await import(
  pathToFileURL(fileURLToPath(new URL("tests/ort/node_modules/onnxruntime-web/dist/ort.node.min.mjs", root)))
    .href
);
const { tf, ClutteredMnist, describeBackend, exportOnnx, loadMnist, loadPretrained, selectBackend } = lib;

await selectBackend("wasm");
ort.env.wasm.numThreads = 1;
const model = await loadPretrained(); // the copy deno task build put in dist/node
const session = await ort.InferenceSession.create(await exportOnnx(model), { executionProviders: ["wasm"] });
const data = new ClutteredMnist(await loadMnist({ dir: process.env.MNIST_DIR ?? "../shared/mnist" }), {
  seed: 1,
});

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows = [];
for (const batch of batches) {
  const { images, labels } = data.batch("test", Array.from({ length: batch }, (_, i) => i));
  const pixels = images.dataSync();
  const runs = {
    library: async () => {
      const p = model.predict(images);
      await p.digits.data();
      tf.dispose([p.logits, p.probabilities, p.digits, p.theta]);
    },
    ort: async () => {
      await session.run({ images: new ort.Tensor("float32", pixels, images.shape) });
    },
  };
  const times = { library: [], ort: [] };
  for (let r = -1; r < reps; r++) {
    for (const key of r % 2 ? ["ort", "library"] : ["library", "ort"]) {
      const t0 = performance.now();
      await runs[key]();
      if (r >= 0) times[key].push(performance.now() - t0);
    }
  }
  const [lib_, ort_] = [median(times.library), median(times.ort)];
  rows.push(
    `| ${batch} | ${lib_.toFixed(1)} (${(lib_ / batch).toFixed(2)}) | ${ort_.toFixed(1)} (${
      (ort_ / batch).toFixed(2)
    }) | ${(lib_ / ort_).toFixed(2)}× |`,
  );
  tf.dispose([images, labels]);
}
console.log(
  `node ${process.version}, onnxruntime-web ${ort.env.versions?.web ?? "?"} (wasm EP, 1 thread), ` +
    `library: ${JSON.stringify(await describeBackend())}; ${reps} alternating runs each; load average ${
      loadavg().map((l) => l.toFixed(2)).join(" ")
    }`,
);
console.log("| batch | library, ms (per sequence) | ORT, ms (per sequence) | library / ORT |");
console.log("|---|---|---|---|");
for (const row of rows) console.log(row);
await session.release();
model.dispose();

/**
 * Exports a reproduction row's best model as the pretrained model that `loadPretrained()` loads: float16
 * weights (half the bytes) in `src/models/pretrained/<row>/`, and beside it `<row>.json`, which says
 * where the weights came from and what they score on the first 1,000 test sequences before and after the
 * float16 rounding (what `tests/pretrained_test.ts` holds them to).
 *
 *   MNIST_DIR=../shared/mnist deno run -A scripts/export_pretrained.ts            # results/rnn-spn-ds3
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readFile, writeFile } from "node:fs/promises";
import { ClutteredMnist, evaluate, loadMnist, loadModel, selectBackend } from "../mod.ts";
import { toFloat16Artifacts } from "../src/models/float16.ts";
import { saveArtifacts } from "../src/models/io.ts";
import type { tf } from "../src/tf.ts";

const { values: args } = parseArgs({
  options: {
    row: { type: "string", default: "rnn-spn-ds3" },
    results: { type: "string", default: "results" },
  },
  strict: true,
});
const rowDir = `${args.results}/${args.row}`;
const outDir = `src/models/pretrained/${args.row}`;
const summary = JSON.parse(await readFile(`${rowDir}/summary.json`, "utf8"));
const run = JSON.parse(await readFile(`${rowDir}/run.json`, "utf8"));

await selectBackend("wasm");
const model = await loadModel(`${rowDir}/best`);
let captured: tf.io.ModelArtifacts | undefined;
await model.save({
  save(artifacts) {
    captured = artifacts;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  },
});
await saveArtifacts(outDir, toFloat16Artifacts(captured!));

// Scored on the same split the run used (its seed and sizes); the first 1,000 test sequences keep the
// test quick, and the float32 number beside it is what rounding to float16 may not worsen.
const data = new ClutteredMnist(await loadMnist(), { seed: run.data.seed, sizes: run.data.sizes });
const SIZE = 1000;
const before = await evaluate(model, data, "test", { limit: SIZE });
const half = await loadModel(outDir);
const after = await evaluate(half, data, "test", { limit: SIZE });
const provenance = {
  row: args.row,
  bestEpoch: summary.bestEpoch,
  testDigitError: summary.testDigitError,
  testSequenceError: summary.testSequenceError,
  data: { seed: run.data.seed, sizes: run.data.sizes },
  first1000: { float32DigitError: before.digitError, float16DigitError: after.digitError },
};
await writeFile(`${outDir}.json`, JSON.stringify(provenance, null, 2) + "\n");
console.log(
  `${outDir}: epoch ${summary.bestEpoch}; first ${SIZE} test sequences: per-digit error ` +
    `${(100 * before.digitError).toFixed(2)} % (float32) → ${
      (100 * after.digitError).toFixed(2)
    } % (float16)`,
);
model.dispose();
half.dispose();

/**
 * Exports the pretrained model that `loadPretrained()` loads: the best epoch of the RNN-SPN DS 3
 * reproduction row with the lowest validation per-digit error (test error never picks it), as float16
 * weights (half the bytes) in `src/models/pretrained/rnn-spn-ds3/`, and beside them `rnn-spn-ds3.json`,
 * which says which row and epoch they came from and what they score on the first 1,000 test sequences
 * before and after the float16 rounding (what `tests/pretrained_test.ts` holds them to).
 *
 *   MNIST_DIR=../shared/mnist deno run -A scripts/export_pretrained.ts [--row ROW]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readFile, writeFile } from "node:fs/promises";
import { ClutteredMnist, evaluate, loadMnist, loadModel, selectBackend } from "../mod.ts";
import { toFloat16Artifacts } from "../src/models/float16.ts";
import { saveArtifacts } from "../src/models/io.ts";
import type { tf } from "../src/tf.ts";
import { pretrainedCandidates, readSummaries } from "./summaries.ts";

const { values: args } = parseArgs({
  options: { row: { type: "string" }, results: { type: "string", default: "results" } },
  strict: true,
});

const ranked = pretrainedCandidates((await readSummaries(args.results)).map((r) => r.summary));
const summary = args.row === undefined ? ranked[0] : ranked.find((s) => s.row === args.row);
if (ranked.length === 0) {
  throw new Error(`--results: no RNN-SPN DS 3 row with a summary.json in ${args.results}`);
}
if (summary === undefined) {
  throw new Error(
    `--row: expected an RNN-SPN DS 3 row of ${args.results} (${
      ranked.map((s) => s.row).join(", ")
    }), got ${args.row}`,
  );
}
const row = summary.row;
const rowDir = `${args.results}/${row}`;
const outDir = "src/models/pretrained/rnn-spn-ds3";
const run = JSON.parse(await readFile(`${rowDir}/run.json`, "utf8"));

await selectBackend("wasm");
const model = await loadModel(`${rowDir}/best`, { accept: "rnnspn" });
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
const half = await loadModel(outDir, { accept: "rnnspn" });
const after = await evaluate(half, data, "test", { limit: SIZE });
const provenance = {
  row,
  bestEpoch: summary.bestEpoch,
  validDigitError: summary.validDigitError,
  testDigitError: summary.testDigitError,
  testSequenceError: summary.testSequenceError,
  data: { seed: run.data.seed, sizes: run.data.sizes },
  first1000: { float32DigitError: before.digitError, float16DigitError: after.digitError },
};
await writeFile(`${outDir}.json`, JSON.stringify(provenance, null, 2) + "\n");
console.log(
  `${outDir}: ${row}, epoch ${summary.bestEpoch}; first ${SIZE} test sequences: per-digit error ` +
    `${(100 * before.digitError).toFixed(2)} % (float32) → ${
      (100 * after.digitError).toFixed(2)
    } % (float16)`,
);
model.dispose();
half.dispose();

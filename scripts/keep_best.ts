/**
 * Readies reproduction rows' best models for git: a `results/<row>/best/` whose weights pass 7 MiB is
 * rewritten with float16 weights (half the bytes; `loadModel` and `examples/evaluate.ts` read both), after
 * scoring both versions on the first 1,000 test sequences of the row's own split, so the rounding's cost is
 * on record. Smaller models stay float32. Then `git add -f results/<row>/best` (results/*\/best/ is
 * ignored so that unfinished rows' models stay out).
 *
 *   MNIST_DIR=../shared/mnist deno run -A scripts/keep_best.ts results/rnn-spn-ds3-e13 [results/… …]
 *
 * @module
 */
import { readFile, stat } from "node:fs/promises";
import { ClutteredMnist, evaluate, loadMnist, loadModel, selectBackend } from "../mod.ts";
import { toFloat16Artifacts } from "../src/models/float16.ts";
import { saveArtifacts } from "../src/models/io.ts";
import type { tf } from "../src/tf.ts";

/** Weights above this many bytes are stored as float16. */
const LIMIT = 7 * 2 ** 20;
const SIZE = 1000;

if (Deno.args.length === 0) {
  console.error("usage: deno run -A scripts/keep_best.ts ROW_DIR [ROW_DIR …]");
  Deno.exit(2);
}
await selectBackend("wasm");
const mnist = await loadMnist();
for (const rowDir of Deno.args) {
  const best = `${rowDir}/best`;
  const bytes = (await stat(`${best}/weights.bin`)).size;
  const isHalf = (await readFile(`${best}/model.json`, "utf8")).includes('"float16"');
  if (bytes <= LIMIT || isHalf) {
    console.log(`${best}: ${(bytes / 2 ** 20).toFixed(1)} MiB ${isHalf ? "float16" : "float32"}, kept as is`);
    continue;
  }
  const run = JSON.parse(await readFile(`${rowDir}/run.json`, "utf8"));
  const data = new ClutteredMnist(mnist, { seed: run.data.seed, sizes: run.data.sizes });
  const model = await loadModel(best, { accept: "rnnspn" });
  const before = await evaluate(model, data, "test", { limit: SIZE });
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save({
    save(artifacts) {
      captured = artifacts;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
    },
  });
  model.dispose();
  await saveArtifacts(best, toFloat16Artifacts(captured!));
  const half = await loadModel(best, { accept: "rnnspn" });
  const after = await evaluate(half, data, "test", { limit: SIZE });
  half.dispose();
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  console.log(
    `${best}: ${(bytes / 2 ** 20).toFixed(1)} → ${
      ((await stat(`${best}/weights.bin`)).size / 2 ** 20).toFixed(1)
    } ` +
      `MiB float16; first ${SIZE} test sequences, per-digit error ${pct(before.digitError)} → ` +
      pct(after.digitError),
  );
}

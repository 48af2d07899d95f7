/**
 * Fuzz: random byte flips in a saved model's `model.json` and `weights.bin` — with the manifest intact,
 * without one (a model saved before manifests existed), and with one rewritten to match (an edited file)
 * — must each give a clear error from this library or load a model with identical predictions, within
 * a second, and leave no tensors behind.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { loadModel, selectBackend, Xoshiro128 } from "../mod.ts";
import { sha256Hex } from "../src/models/integrity.ts";
import { tinyModel } from "./_models.ts";

await selectBackend("cpu");

const TRIALS = 500;
/** Outcome classes for the summary (the first that matches). */
const KINDS: [string, RegExp][] = [
  ["SHA-256/length mismatch", /is corrupt: SHA-256|bytes but .* records/],
  ["not valid JSON", /not valid JSON/],
  ["metadata vs topology", /metadata says/],
  ["topology vs rebuilt model", /topology is not that of/],
  ["topology structure", /modelTopology|not a node of any layer|has a cycle|input_layers|output_layers/],
  ["invalid saved config", /saved config is not valid/],
  ["no metadata / unknown kind", /no "rnnspn" metadata|unknown model kind/],
  ["weight specs", /weight|specs/],
];
const MODES = ["json", "weights", "json, no manifest", "weights, no manifest", "json, manifest rewritten"];

Deno.test(`fuzz: ${TRIALS} seeded byte flips in model.json / weights.bin: a clear error or an identical load, each < 1 s`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnspn-fuzz-" });
  const model = tinyModel("rnn-spn", 8);
  const images = tf.randomUniform([1, 100, 100, 1], 0, 1, "float32", 2) as tf.Tensor4D;
  const predict = (m: typeof model) => {
    const p = m.predict(images);
    const out = [p.logits.dataSync().slice(), p.theta!.dataSync().slice()];
    tf.dispose([p.logits, p.probabilities, p.digits, p.theta!]);
    return out;
  };
  const expected = predict(model);
  await model.save(`${dir}/m`);
  const pristine = {
    json: await Deno.readFile(`${dir}/m/model.json`),
    weights: await Deno.readFile(`${dir}/m/weights.bin`),
    manifest: await Deno.readTextFile(`${dir}/m/manifest.json`),
  };
  const rng = new Xoshiro128(20261130);
  const before = tf.memory().numTensors;
  const outcomes: Record<string, number> = {};
  let slowest = 0;
  const t00 = performance.now();
  for (let trial = 0; trial < TRIALS; trial++) {
    const mode = MODES[trial % MODES.length];
    const json = pristine.json.slice();
    const weights = pristine.weights.slice();
    const target = mode.startsWith("json") ? json : weights;
    const flips = rng.int(1, 4); // 1..3 bytes
    for (let i = 0; i < flips; i++) target[rng.int(0, target.length)] ^= rng.int(1, 256);
    let manifest: string | undefined = pristine.manifest;
    if (mode.includes("no manifest")) manifest = undefined;
    if (mode.includes("rewritten")) {
      const m = JSON.parse(pristine.manifest);
      m.files["model.json"] = { bytes: json.length, sha256: await sha256Hex(json) };
      manifest = JSON.stringify(m);
    }
    await Deno.writeFile(`${dir}/m/model.json`, json);
    await Deno.writeFile(`${dir}/m/weights.bin`, weights);
    if (manifest === undefined) await Deno.remove(`${dir}/m/manifest.json`).catch(() => {});
    else await Deno.writeTextFile(`${dir}/m/manifest.json`, manifest);

    const t0 = performance.now();
    let outcome: string;
    try {
      const loaded = await loadModel(`${dir}/m`, { accept: "rnnspn" });
      const got = predict(loaded);
      loaded.dispose();
      assert.deepEqual(got, expected, `trial ${trial} (${mode}) loaded a different model`);
      outcome = "identical load";
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      const message = (err as Error).message;
      // Ours, naming the source: not a raw TypeError/RangeError from deep inside tfjs.
      assert.ok(err instanceof Error && /^load( model)?: /.test(message), `trial ${trial} (${mode}): ${err}`);
      assert.ok(message.includes(`${dir}/m`), `trial ${trial} (${mode}): no file named in: ${message}`);
      outcome = KINDS.find(([, re]) => re.test(message))?.[0] ?? message.slice(0, 80);
    }
    const took = performance.now() - t0;
    slowest = Math.max(slowest, took);
    assert.ok(took < 1000, `trial ${trial} (${mode}) took ${took.toFixed(0)} ms`);
    outcomes[`${mode}: ${outcome}`] = (outcomes[`${mode}: ${outcome}`] ?? 0) + 1;
  }
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
  const total = performance.now() - t00;
  console.log(`${TRIALS} trials in ${(total / 1000).toFixed(1)} s, slowest load ${slowest.toFixed(0)} ms`);
  for (const [k, n] of Object.entries(outcomes).sort((a, b) => b[1] - a[1])) console.log(`  ${n}× ${k}`);
  tf.dispose(images);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

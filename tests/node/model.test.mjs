// Models from Node: save → load gives identical predictions; Deno's saved model gives Deno's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture, lib } from "./_helpers.mjs";

const { tf, createModel, loadModel, selectBackend } = lib;
const CONFIG = {
  locFilters: 4,
  gruUnits: 16,
  classifierFilters: 6,
  denseUnits: 32,
  downsampleFactor: 3,
  seed: 3,
};

function outputs(model, images) {
  const p = model.predict(images);
  const result = { logits: Array.from(p.logits.dataSync()), theta: Array.from(p.theta.dataSync()) };
  tf.dispose([p.logits, p.probabilities, p.digits, p.theta]);
  return result;
}

for (const backend of ["wasm", "cpu"]) {
  test(`an RNN-SPN saved and loaded in Node predicts identically (${backend})`, async () => {
    await selectBackend(backend);
    const dir = await mkdtemp(join(tmpdir(), "rnnspn-node-"));
    try {
      const model = createModel("rnn-spn", CONFIG);
      const images = tf.randomUniform([3, 100, 100, 1], 0, 1, "float32", 7);
      const before = outputs(model, images);
      const result = await model.save(dir);
      // tfjs's SaveResult, as tf.LayersModel.save gives it.
      assert.equal(result.modelArtifactsInfo.weightDataBytes, (await stat(join(dir, "weights.bin"))).size);
      const loaded = await loadModel(dir);
      assert.equal(loaded.kind, "rnn-spn");
      assert.deepEqual(outputs(loaded, images), before);
      tf.dispose(images);
      model.dispose();
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test("the model Deno saved, loaded in Node, gives Deno's logits and θ bit for bit (wasm, cpu)", async () => {
  const { describeBackend } = lib;
  const { ClutteredMnist, loadMnist } = lib;
  const expected = await fixture("predictions.json");
  const data = new ClutteredMnist(await loadMnist({ dir: process.env.MNIST_DIR ?? "../shared/mnist" }), {
    seed: 1,
  });
  for (const backend of ["wasm", "cpu"]) {
    await selectBackend(backend);
    // Deno's wasm kernels with or without FMA (relaxed SIMD: Node ≥ 22 has it, Node 20 not).
    const key = backend === "cpu" ? "cpu" : (await describeBackend()).fma ? "wasm-fma" : "wasm-simd128";
    const model = await loadModel(await fixture("model"));
    const { images } = data.batch("test", Array.from({ length: expected.samples }, (_, i) => i));
    const got = outputs(model, images);
    assert.ok(expected[key], `the fixture has no ${key} predictions`);
    assert.deepEqual(got.logits, expected[key].logits, `${key} logits`);
    assert.deepEqual(got.theta, expected[key].theta, `${key} θ`);
    tf.dispose(images);
    model.dispose();
  }
});

test("file:// URLs work in Node too: a user's tf.sequential STN saves and reloads through tfjs's API bit for bit", async () => {
  const { spatialTransformer, identityAffine } = lib;
  await selectBackend("cpu");
  const dir = await mkdtemp(join(tmpdir(), "rnnspn-node-file-"));
  try {
    const model = tf.sequential({
      layers: [
        spatialTransformer({
          inputShape: [12, 12, 1],
          outputSize: [6, 6],
          localization: [
            tf.layers.flatten(),
            tf.layers.dense({ units: 6, kernelInitializer: "zeros", biasInitializer: identityAffine() }),
          ],
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      ],
    });
    await model.save(`file://${dir}/stn`);
    const loaded = await tf.loadLayersModel(`file://${dir}/stn/model.json`);
    const bytes = (m) => m.getWeights().map((w) => Array.from(new Uint8Array(w.dataSync().slice().buffer)));
    assert.deepEqual(bytes(loaded), bytes(model));
    const image = tf.randomUniform([2, 12, 12, 1], 0, 1, "float32", 4);
    assert.deepEqual(
      Array.from(loaded.predict(image).dataSync()),
      Array.from(model.predict(image).dataSync()),
    );
    model.dispose();
    loaded.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

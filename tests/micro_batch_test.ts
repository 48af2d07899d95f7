/**
 * `trainStep`'s `microBatch` (src/train/step.ts): the gradient summed over slices equals the whole
 * batch's, so a step with micro-batches updates the weights like one without; bad sizes are named.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { RecurrentAttention } from "../src/models/recurrent_attention.ts";
import { createOptimizer } from "../src/train/optimizer.ts";
import { trainableVariables, trainStep } from "../src/train/step.ts";

const tiny = () =>
  new RecurrentAttention({ locFilters: 4, gruUnits: 16, classifierFilters: 6, denseUnits: 32, seed: 3 });

async function stepWith(microBatch: number | undefined): Promise<{ loss: number; weights: Float32Array[] }> {
  const model = tiny();
  const optimizer = createOptimizer("rmsprop", 1e-3);
  const images = tf.randomUniform([7, 100, 100, 1], 0, 1, "float32", 1) as tf.Tensor4D;
  const labels = tf.tensor2d(
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1],
    [7, 3],
    "int32",
  );
  const loss = trainStep(model, optimizer, images, labels, { microBatch });
  const value = (await loss.data())[0];
  loss.dispose();
  const weights = await Promise.all(trainableVariables(model).map((v) => v.data() as Promise<Float32Array>));
  tf.dispose([images, labels]);
  optimizer.dispose();
  model.dispose();
  return { loss: value, weights };
}

Deno.test("trainStep with micro-batches (3 + 3 + 1 of 7) equals the whole-batch step", async () => {
  await selectBackend("cpu");
  const whole = await stepWith(undefined);
  const sliced = await stepWith(3);
  assert.ok(Math.abs(whole.loss - sliced.loss) < 1e-5, `loss ${whole.loss} vs ${sliced.loss}`);
  let maxDiff = 0;
  whole.weights.forEach((w, i) =>
    w.forEach((v, j) => maxDiff = Math.max(maxDiff, Math.abs(v - sliced.weights[i][j])))
  );
  // RMSprop's first step moves every weight by ~lr·sign(g): equal gradients give equal weights.
  assert.ok(maxDiff < 1e-5, `weights differ by ${maxDiff}`);
  const sameAsWhole = await stepWith(7);
  assert.equal(sameAsWhole.loss, whole.loss, "microBatch ≥ batch is the plain step");
});

Deno.test("trainStep: microBatch must be a positive integer, named in the error", async () => {
  await selectBackend("cpu");
  await assert.rejects(() => stepWith(0), /microBatch must be a positive integer; got 0/);
  await assert.rejects(() => stepWith(2.5), /microBatch must be a positive integer; got 2.5/);
});

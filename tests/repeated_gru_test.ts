/**
 * `RepeatedInputGRU` (src/layers/repeated_gru.ts) is tfjs's `RepeatVector` + `GRU` (sigmoid gates)
 * computed with one input projection: same outputs and same gradients (input and every weight)
 * for the same weights, on cpu and wasm; and it saves and reloads in the LayersModel format.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { RepeatedInputGRU } from "../src/layers/repeated_gru.ts";

const [B, F, U, STEPS] = [5, 11, 7, 3];

function reference(): tf.layers.Layer[] {
  const repeat = tf.layers.repeatVector({ n: STEPS });
  const gru = tf.layers.gru({ units: U, returnSequences: true, recurrentActivation: "sigmoid" });
  return [repeat, gru];
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`RepeatedInputGRU equals RepeatVector + GRU: outputs and gradients (${backend})`, async () => {
    await selectBackend(backend);
    const ours = new RepeatedInputGRU({ units: U, steps: STEPS, kernelSeed: 3, recurrentSeed: 4 });
    const [repeat, gru] = reference();
    const x = tf.randomNormal([B, F], 0, 1, "float32", 1) as tf.Tensor2D;
    ours.apply(x);
    gru.apply(repeat.apply(x) as tf.Tensor);
    // A non-zero bias so every term of the gates is exercised; then the same weights in both.
    const [k, r] = ours.getWeights();
    const bias = tf.randomNormal([3 * U], 0, 0.5, "float32", 2);
    ours.setWeights([k, r, bias]);
    gru.setWeights([k, r, bias]);
    const weightsOf = (layer: tf.layers.Layer) => layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const probe = tf.randomNormal([B, STEPS, U], 0, 1, "float32", 5);
    const run = (f: (t: tf.Tensor) => tf.Tensor, vars: tf.Variable[]) => {
      const xv = tf.variable(x);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(xv), probe)) as tf.Scalar, [
        xv,
        ...vars,
      ]);
      const out = [value, grads[xv.name], ...vars.map((v) => grads[v.name])];
      xv.dispose();
      return out;
    };
    const before = tf.memory().numTensors;
    const got = run((t) => ours.apply(t) as tf.Tensor, weightsOf(ours));
    const want = run((t) => gru.apply(repeat.apply(t) as tf.Tensor) as tf.Tensor, weightsOf(gru));
    const outGot = ours.apply(x) as tf.Tensor,
      outWant = tf.tidy(() => gru.apply(repeat.apply(x) as tf.Tensor) as tf.Tensor);
    assert.deepEqual(outGot.shape, [B, STEPS, U]);
    assert.ok(maxDiff(await outGot.data(), await outWant.data()) < 1e-5, "outputs differ");
    const names = ["value", "∂x", "∂kernel", "∂recurrent_kernel", "∂bias"];
    for (let i = 0; i < got.length; i++) {
      const d = maxDiff(await got[i].data(), await want[i].data());
      assert.ok(d < 1e-4, `${names[i]} differs by ${d}`);
    }
    tf.dispose([...got, ...want, outGot, outWant]);
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
    tf.dispose([x, bias, probe]); // (k and r are the layer's own variables)
    ours.dispose();
    gru.dispose();
  });
}

Deno.test("RepeatedInputGRU saves and reloads in the LayersModel format; bad args are named", async () => {
  await selectBackend("cpu");
  const input = tf.input({ shape: [F] });
  const output = new RepeatedInputGRU({ units: U, steps: STEPS, kernelSeed: 8, name: "g" }).apply(input);
  const model = tf.model({ inputs: input, outputs: output as tf.SymbolicTensor });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  const x = tf.randomUniform([2, F], -1, 1, "float32", 6);
  const a = model.predict(x) as tf.Tensor, b = loaded.predict(x) as tf.Tensor;
  assert.equal(maxDiff(await a.data(), await b.data()), 0);
  const layer = loaded.getLayer("g") as RepeatedInputGRU;
  assert.ok(layer instanceof RepeatedInputGRU);
  assert.equal(layer.steps, STEPS);
  tf.dispose([x, a, b]);
  model.dispose();
  loaded.dispose();
  assert.throws(
    () => new RepeatedInputGRU({ units: 0, steps: 3 }),
    /units must be a positive integer; got 0/,
  );
  assert.throws(
    () => new RepeatedInputGRU({ units: 4, steps: 1.5 }),
    /steps must be a positive integer; got 1.5/,
  );
});

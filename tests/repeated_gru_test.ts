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

/** The authors' Lasagne GRULayer step in float64 (reset after the recurrent product, no recurrent bias). */
function lasagneReference(x: number[][], k: Float32Array, r: Float32Array, b: Float32Array): number[][][] {
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  return x.map((row) => {
    const proj = Array.from(
      { length: 3 * U },
      (_, j) => b[j] + row.reduce((s, v, i) => s + v * k[i * 3 * U + j], 0),
    );
    let h = new Array(U).fill(0);
    const states: number[][] = [];
    for (let t = 0; t < STEPS; t++) {
      const rec = Array.from({ length: 3 * U }, (_, j) => h.reduce((s, v, i) => s + v * r[i * 3 * U + j], 0));
      h = h.map((hv, j) => {
        const z = sig(proj[j] + rec[j]), rr = sig(proj[U + j] + rec[U + j]);
        const cand = Math.tanh(proj[2 * U + j] + rr * rec[2 * U + j]);
        return z * hv + (1 - z) * cand;
      });
      states.push(h);
    }
    return states;
  });
}

Deno.test("RepeatedInputGRU resetAfter: the Lasagne/cuDNN form, checked in float64; its ∂kernel by finite differences", async () => {
  await selectBackend("cpu");
  const gru = new RepeatedInputGRU({ units: U, steps: STEPS, resetAfter: true, init: "lasagne" });
  const x = tf.randomNormal([B, F], 0, 1, "float32", 7) as tf.Tensor2D;
  gru.apply(x);
  const [k, r] = gru.getWeights();
  gru.setWeights([k, r, tf.randomNormal([3 * U], 0, 0.5, "float32", 8)]);
  const [kv, rv, bv] = await Promise.all(gru.getWeights().map((w) => w.data() as Promise<Float32Array>));
  const want = lasagneReference(x.arraySync(), kv, rv, bv).flat(2);
  const got = await (gru.apply(x) as tf.Tensor).data();
  assert.ok(maxDiff(got, want) < 1e-5, `outputs differ by ${maxDiff(got, want)}`);
  // The same weights without the switch give other states: the switch is live.
  const plain = new RepeatedInputGRU({ units: U, steps: STEPS });
  plain.apply(x);
  plain.setWeights(gru.getWeights());
  assert.ok(maxDiff(await (plain.apply(x) as tf.Tensor).data(), want) > 1e-4);
  // ∂(Σ states · probe)/∂kernel at a few entries, against central differences in float64.
  const probe = tf.randomNormal([B, STEPS, U], 0, 1, "float32", 9);
  const pv = await probe.data();
  const kernel = gru.trainableWeights[0].read() as tf.Variable;
  // The kernel variable itself is the argument: apply() reads it.
  const grad = await tf.grad(() => tf.sum(tf.mul(gru.apply(x) as tf.Tensor, probe)))(kernel).data();
  const loss = (kk: Float32Array) => {
    const s = lasagneReference(x.arraySync(), kk, rv, bv).flat(2);
    return s.reduce((acc, v, i) => acc + v * pv[i], 0);
  };
  for (const i of [0, 5, F * 3 * U - 1, 2 * U + 1]) {
    const eps = 1e-3, plus = Float32Array.from(kv), minus = Float32Array.from(kv);
    plus[i] += eps;
    minus[i] -= eps;
    const fd = (loss(plus) - loss(minus)) / (plus[i] - minus[i]);
    assert.ok(
      Math.abs(fd - grad[i]) < 2e-3 * Math.max(1, Math.abs(fd)),
      `∂kernel[${i}]: ${grad[i]} vs ${fd}`,
    );
  }
});

Deno.test("RepeatedInputGRU init lasagne: Normal(0, 0.1) kernels; the switches serialise, defaults stay out of the config", () => {
  const gru = new RepeatedInputGRU({ units: 64, steps: 2, init: "lasagne", resetAfter: true });
  gru.apply(tf.zeros([1, 200]));
  const k = Array.from(gru.getWeights()[0].dataSync() as Float32Array);
  const mean = k.reduce((s, v) => s + v, 0) / k.length;
  const sd = Math.sqrt(k.reduce((s, v) => s + (v - mean) ** 2, 0) / k.length);
  assert.ok(Math.abs(mean) < 0.005 && Math.abs(sd - 0.1) < 0.005, `mean ${mean} sd ${sd}`);
  const config = gru.getConfig();
  assert.equal(config.resetAfter, true);
  assert.equal(config.init, "lasagne");
  const back = RepeatedInputGRU.fromConfig(RepeatedInputGRU, config) as RepeatedInputGRU;
  assert.equal(back.resetAfter, true);
  assert.equal(back.init, "lasagne");
  const plain = new RepeatedInputGRU({ units: 4, steps: 2 }).getConfig();
  assert.ok(!("resetAfter" in plain) && !("init" in plain), JSON.stringify(plain));
  assert.throws(
    () => new RepeatedInputGRU({ units: 4, steps: 2, init: "he" as never }),
    /init must be "glorot" or "lasagne"; got "he"/,
  );
  assert.throws(
    () => new RepeatedInputGRU({ units: 4, steps: 2, resetAfter: 1 as never }),
    /resetAfter must be a boolean; got 1/,
  );
});

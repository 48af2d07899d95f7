/**
 * The wasm `Identity` and same-dtype `Cast` overrides (src/kernels/wasm/identity.ts, cast.ts): a
 * clone or a no-op cast shares the buffer, yet each tensor lives and dies on its own (reference
 * counts); real casts still convert; gradients that save or cast tensors still agree with cpu.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";

Deno.test("Identity on wasm shares data but clone/dispose keep each tensor valid", async () => {
  await selectBackend("wasm");
  assert.equal(tf.getKernel(tf.Identity, "wasm")?.kernelFunc.name, "identityShared");
  const bytes = tf.memory().numBytes;
  const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = tf.clone(a);
  assert.deepEqual(Array.from(await b.data()), [1, 2, 3, 4, 5, 6]);
  a.dispose();
  assert.deepEqual(Array.from(await b.data()), [1, 2, 3, 4, 5, 6], "the clone outlives the original");
  const c = tf.add(b, 1);
  b.dispose();
  assert.deepEqual(Array.from(await c.data()), [2, 3, 4, 5, 6, 7]);
  c.dispose();
  assert.equal(tf.memory().numBytes, bytes, "bytes leaked");
  const s = tf.tensor1d(["x", "y"], "string");
  const t = tf.clone(s);
  assert.deepEqual(await t.data(), ["x", "y"]);
  tf.dispose([s, t]);
});

Deno.test("gradients through saved tensors (relu, sigmoid, exp) on wasm equal cpu's", async () => {
  const grads = async (backend: "cpu" | "wasm") => {
    await selectBackend(backend);
    const x = tf.tensor1d([-2, -0.5, 0.25, 1, 3]);
    const before = tf.memory().numTensors;
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), tf.add(tf.sigmoid(t), tf.exp(t)))))(x);
    const out = Array.from(await g.data());
    g.dispose();
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
    x.dispose();
    return out;
  };
  const got = await grads("wasm"), want = await grads("cpu");
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `[${i}] ${got[i]} vs ${want[i]}`);
  }
});

Deno.test("Cast on wasm: same dtype shares the buffer, float32 → int32 still converts", async () => {
  await selectBackend("wasm");
  assert.equal(tf.getKernel(tf.Cast, "wasm")?.kernelFunc.name, "castOrShare");
  const bytes = tf.memory().numBytes;
  const a = tf.tensor1d([-1.7, 0, 0.4, 2.9]);
  const same = tf.cast(a, "float32");
  a.dispose();
  assert.deepEqual(Array.from(await same.data()), Array.from(new Float32Array([-1.7, 0, 0.4, 2.9])));
  // (Not bool: tfjs-wasm's own Cast turns -1.7 into 255 there, unlike cpu; this override leaves it.)
  const ints = tf.cast(same, "int32");
  assert.deepEqual(Array.from(await ints.data()), [-1, 0, 0, 2]);
  const back = tf.cast(ints, "int32");
  assert.equal(back.dtype, "int32");
  assert.deepEqual(Array.from(await back.data()), [-1, 0, 0, 2]);
  tf.dispose([same, ints, back]);
  assert.equal(tf.memory().numBytes, bytes, "bytes leaked");
});

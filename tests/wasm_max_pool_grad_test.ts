/**
 * The wasm `MaxPoolGrad` override (src/kernels/wasm/max_pool_grad.ts) against tfjs's cpu backend:
 * random shapes, filter sizes, strides (overlapping windows), both paddings, and inputs with many
 * ties (values drawn from a few levels), where the first maximum in row-major order must win.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { prng } from "./_random.ts";

async function gradOn(
  backend: "cpu" | "wasm",
  xv: Float32Array,
  shape: [number, number, number, number],
  gv: (n: number) => Float32Array,
  filter: [number, number],
  stride: [number, number],
  pad: "valid" | "same",
): Promise<Float32Array> {
  await selectBackend(backend);
  const x = tf.tensor4d(xv, shape);
  const before = tf.memory().numTensors;
  const dx = tf.grad((t: tf.Tensor) => {
    const y = tf.maxPool(t as tf.Tensor4D, filter, stride, pad);
    return tf.sum(tf.mul(y, tf.tensor(gv(y.size), y.shape)));
  })(x);
  const out = await dx.data() as Float32Array;
  dx.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  x.dispose();
  return out;
}

Deno.test("MaxPoolGrad on wasm is the argmax-routing override", async () => {
  await selectBackend("wasm");
  assert.equal(tf.getKernel(tf.MaxPoolGrad, "wasm")?.kernelFunc.name, "maxPoolGradArgmax");
});

Deno.test("MaxPoolGrad on wasm matches cpu: shapes, strides, paddings and ties", async () => {
  const rand = prng(5);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  for (let rep = 0; rep < 24; rep++) {
    const filter: [number, number] = rep < 8 ? [2, 2] : [int(1, 4), int(1, 4)];
    const stride: [number, number] = rep < 8 ? [2, 2] : [int(1, 3), int(1, 3)];
    const pad = rep % 3 === 2 ? "same" : "valid";
    const shape: [number, number, number, number] = [
      int(1, 3),
      int(filter[0], 13),
      int(filter[1], 13),
      int(1, 9),
    ];
    const n = shape.reduce((p, d) => p * d, 1);
    // Half the cases draw from 3 levels, so most windows hold tied maxima.
    const levels = rep % 2 === 0 ? 3 : 0;
    const xv = Float32Array.from(
      { length: n },
      () => levels ? Math.floor(rand() * levels) : rand() * 2 - 1,
    );
    const gseed = int(0, 1000);
    const gv = (m: number) => {
      const r = prng(gseed);
      return Float32Array.from({ length: m }, () => r() * 2 - 1);
    };
    const got = await gradOn("wasm", xv, shape, gv, filter, stride, pad);
    const want = await gradOn("cpu", xv, shape, gv, filter, stride, pad);
    const what = `x [${shape}] filter [${filter}] stride [${stride}] ${pad} levels ${levels}`;
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(got[i] - want[i]) <= 1e-5, `${what}: dx[${i}] ${got[i]} vs ${want[i]}`);
    }
  }
});

Deno.test("MaxPoolGrad 2×2 / stride 2 on wasm (the Rust path) matches cpu: odd sizes, any channels, NaN and ±∞", async () => {
  const rand = prng(17);
  const special = [NaN, -Infinity, Infinity, 0, -0];
  for (
    const [rep, shape]
      of ([[1, 2, 2, 1], [1, 5, 7, 3], [2, 6, 4, 4], [1, 9, 9, 5], [3, 4, 5, 8], [2, 7, 6, 13]] as [
        number,
        number,
        number,
        number,
      ][]).entries()
  ) {
    const n = shape.reduce((p, d) => p * d, 1);
    // A tenth special values, the rest from 4 levels (ties) or continuous.
    const xv = Float32Array.from({ length: n }, () => {
      const u = rand();
      if (u < 0.1) return special[Math.floor(rand() * special.length)];
      return rep % 2 ? Math.floor(rand() * 4) : rand() * 2 - 1;
    });
    const gv = (m: number) => {
      const r = prng(rep);
      return Float32Array.from({ length: m }, () => r() * 2 - 1);
    };
    const got = await gradOn("wasm", xv, shape, gv, [2, 2], [2, 2], "valid");
    const want = await gradOn("cpu", xv, shape, gv, [2, 2], [2, 2], "valid");
    for (let i = 0; i < want.length; i++) {
      assert.ok(
        Object.is(got[i], want[i]) || got[i] === want[i],
        `x [${shape}]: dx[${i}] ${got[i]} vs ${want[i]}`,
      );
    }
  }
});

/**
 * The wasm `BatchMatMul` override (src/kernels/wasm/batch_mat_mul.ts): transposed operands are
 * materialised and the product goes through XNNPACK. Checked against tfjs's cpu backend for every
 * transpose combination, ranks 2–4, broadcast batch dims and odd sizes, and for leaks.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { prng } from "./_random.ts";
import { on, values } from "./_on_backend.ts";

Deno.test("BatchMatMul on wasm is the transpose-free override", async () => {
  await selectBackend("wasm");
  const kernel = tf.getKernel(tf.BatchMatMul, "wasm");
  assert.equal(kernel?.kernelFunc.name, "batchMatMulUntransposed");
});

Deno.test("BatchMatMul on wasm matches cpu for every transpose combination, rank and batch", async () => {
  const rand = prng(7);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  for (let rep = 0; rep < 24; rep++) {
    const transposeA = rep % 2 === 1, transposeB = (rep >> 1) % 2 === 1;
    const m = int(1, 37), k = int(1, 70), n = int(1, 45);
    // Batch dims: none, one, or two with broadcasting of b's.
    const batchA = rep % 3 === 0 ? [] : rep % 3 === 1 ? [int(1, 4)] : [int(1, 3), int(1, 3)];
    const batchB = batchA.length === 2 && rep % 4 === 0 ? [1, batchA[1]] : batchA;
    const aShape = [...batchA, ...(transposeA ? [k, m] : [m, k])];
    const bShape = [...batchB, ...(transposeB ? [n, k] : [k, n])];
    const av = values(rand, aShape.reduce((p, d) => p * d, 1));
    const bv = values(rand, bShape.reduce((p, d) => p * d, 1));
    const run = () => tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), transposeA, transposeB);
    const got = await on("wasm", run);
    const want = await on("cpu", run);
    const what = `a [${aShape}] b [${bShape}] transposeA ${transposeA} transposeB ${transposeB}`;
    assert.deepEqual(got.shape, want.shape, what);
    let err = 0, scale = 0;
    for (let i = 0; i < want.data.length; i++) {
      err = Math.max(err, Math.abs(got.data[i] - want.data[i]));
      scale = Math.max(scale, Math.abs(want.data[i]));
    }
    assert.ok(err <= 1e-5 * Math.max(1, scale), `${what}: max error ${err} (scale ${scale})`);
  }
});

Deno.test("BatchMatMul on wasm: a·bᵀ with a small a (computed as (b·aᵀ)ᵀ) matches cpu", async () => {
  const rand = prng(8);
  for (const [m, k, n] of [[3, 40, 50], [1, 7, 300], [20, 400, 2000], [5, 1, 9]]) {
    const av = values(rand, m * k), bv = values(rand, n * k);
    // Rank 2, and rank 3 with a batch of 1 (how the GRU's products arrive).
    const lead = m % 2 === 1 ? [1] : [];
    const run = () => tf.matMul(tf.tensor(av, [...lead, m, k]), tf.tensor(bv, [...lead, n, k]), false, true);
    const got = await on("wasm", run);
    const want = await on("cpu", run);
    assert.deepEqual(got.shape, [...lead, m, n]);
    for (let i = 0; i < want.data.length; i++) {
      assert.ok(
        Math.abs(got.data[i] - want.data[i]) <= 1e-4 * Math.max(1, Math.abs(want.data[i])),
        `[${m},${k},${n}] ${i}`,
      );
    }
  }
});

Deno.test("the gradient of a dense layer on wasm (transposed products) equals cpu's, without leaks", async () => {
  const rand = prng(3);
  const xv = values(rand, 9 * 13), wv = values(rand, 13 * 5);
  const grads = async (backend: "cpu" | "wasm") => {
    await selectBackend(backend);
    const x = tf.tensor2d(xv, [9, 13]), w = tf.tensor2d(wv, [13, 5]);
    const before = tf.memory().numTensors;
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b))))([x, w]);
    const out = [await dx.data(), await dw.data()];
    tf.dispose([dx, dw]);
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
    tf.dispose([x, w]);
    return out;
  };
  const [got, want] = [await grads("wasm"), await grads("cpu")];
  for (let g = 0; g < 2; g++) {
    for (let i = 0; i < want[g].length; i++) {
      assert.ok(
        Math.abs(got[g][i] - want[g][i]) <= 1e-4 * Math.max(1, Math.abs(want[g][i])),
        `grad ${g}[${i}]`,
      );
    }
  }
});

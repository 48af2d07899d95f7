/**
 * The wasm `Sum` override for leading axes (src/kernels/wasm/sum.ts) against tfjs's cpu backend,
 * and the reductions it leaves to tfjs's kernel (inner axes, int32, all axes) still right.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { prng } from "./_random.ts";
import { on } from "./_on_backend.ts";

Deno.test("Sum on wasm is the leading-axes override", async () => {
  await selectBackend("wasm");
  assert.equal(tf.getKernel(tf.Sum, "wasm")?.kernelFunc.name, "sumLeadingAxes");
});

Deno.test("Sum on wasm matches cpu over leading, inner, mixed and all axes, with keepDims", async () => {
  const rand = prng(9);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const cases: [number[], number | number[]][] = [];
  for (let rep = 0; rep < 6; rep++) {
    const shape = [int(1, 9), int(1, 8), int(1, 7), int(1, 6)];
    cases.push([shape, [0, 1, 2]], [shape, [0]], [shape, [1, 0]], [shape, -1], [shape, [0, 2]], [shape, [
      0,
      1,
      2,
      3,
    ]]);
  }
  for (const [rep, [shape, axis]] of cases.entries()) {
    const n = shape.reduce((p, d) => p * d, 1);
    const xv = Float32Array.from({ length: n }, () => rand() * 2 - 1);
    const keepDims = rep % 2 === 1;
    const dtype = rep % 7 === 3 ? "int32" : "float32";
    const run = () =>
      tf.sum(
        tf.tensor(dtype === "int32" ? xv.map((v) => Math.round(v * 50)) : xv, shape, dtype),
        axis,
        keepDims,
      );
    const got = await on("wasm", run);
    const want = await on("cpu", run);
    const what = `x [${shape}] ${dtype} axis ${JSON.stringify(axis)} keepDims ${keepDims}`;
    assert.deepEqual(got.shape, want.shape, what);
    for (let i = 0; i < want.data.length; i++) {
      assert.ok(
        Math.abs(got.data[i] - want.data[i]) <= 1e-5 * Math.max(1, Math.abs(want.data[i])),
        `${what}: [${i}]`,
      );
    }
  }
});

Deno.test("a conv bias gradient on wasm (sum over B, H, W) equals cpu's on a training-sized tensor", async () => {
  const rand = prng(4);
  const xv = Float32Array.from({ length: 30 * 31 * 31 * 32 }, () => rand());
  const run = () => tf.sum(tf.tensor4d(xv, [30, 31, 31, 32]), [0, 1, 2]);
  const got = await on("wasm", run);
  const want = await on("cpu", run);
  for (let i = 0; i < 32; i++) {
    assert.ok(Math.abs(got.data[i] - want.data[i]) <= 1e-5 * Math.abs(want.data[i]), `channel ${i}`);
  }
});

Deno.test("Sum over leading axes on wasm stays accurate over many rows with a large mean (odd width)", async () => {
  // 20 011 rows: not a multiple of the kernel's 32-row float32 blocks; 7 columns: a SIMD tail.
  const rand = prng(12);
  const xv = Float32Array.from({ length: 20011 * 7 }, () => 1000 + rand());
  const run = () => tf.sum(tf.tensor2d(xv, [20011, 7]), 0);
  const got = await on("wasm", run);
  const want = await on("cpu", run);
  for (let i = 0; i < 7; i++) {
    assert.ok(Math.abs(got.data[i] - want.data[i]) <= 1e-6 * Math.abs(want.data[i]), `column ${i}`);
  }
});

/**
 * The wasm `BatchMatMul` override (src/kernels/wasm/batch_mat_mul.ts): transposed operands are
 * materialised and the product goes through XNNPACK, or through our own GEMM (a fresh b with few
 * rows; batched products). Checked against tfjs's cpu backend for every transpose combination,
 * ranks 2–4, broadcast batch dims and odd sizes, which route the rule picks, and for leaks.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { prng } from "./_random.ts";
import { on, values } from "./_on_backend.ts";
import { OWN_GEMM_ROW_BUDGET, ownGemm } from "../src/kernels/wasm/batch_mat_mul.ts";
import { directKernels, setDirectKernelsEnabled } from "../src/kernels/wasm/direct.ts";
import { setFmaEnabled } from "../src/kernels/wasm/fma.ts";

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

Deno.test("BatchMatMul on wasm: aᵀ·b with a long reduction (∂W) goes through our GEMM and matches cpu", async () => {
  const rand = prng(9);
  // Reductions at and past the route's threshold; 300 crosses a k block (256), 261 output rows
  // cross a row block (128) and end in a partial 4-row tile, 21 columns a partial panel.
  for (
    const [k, m, n, fma] of [
      [ownGemm.transposedAMinK, 9, 16, true],
      [300, 261, 21, true],
      [300, 261, 21, false], // the SIMD128 kernel (wasm/direct) has the same blocks
      [ownGemm.transposedAMinK - 1, 5, 8, true],
    ] as const
  ) {
    setFmaEnabled(fma);
    const av = values(rand, k * m), bv = values(rand, k * n);
    const run = () => tf.matMul(tf.tensor(av, [k, m]), tf.tensor(bv, [k, n]), true, false);
    const calls = ownGemm.calls;
    const got = await on("wasm", run);
    const routed = ownGemm.calls > calls;
    const want = await on("cpu", run);
    assert.equal(routed, k >= ownGemm.transposedAMinK, `[${k},${m}]ᵀ·[${k},${n}] took our GEMM: ${routed}`);
    assert.deepEqual(got.shape, [m, n]);
    for (let i = 0; i < want.data.length; i++) {
      assert.ok(
        Math.abs(got.data[i] - want.data[i]) <= 1e-4 * Math.max(1, Math.abs(want.data[i])),
        `[${k},${m}]ᵀ·[${k},${n}] fma ${fma} ${i}: ${got.data[i]} vs ${want.data[i]}`,
      );
    }
  }
  setFmaEnabled(true);
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

/** Max |got − want| over max(1, |want|) of a product on wasm against cpu. */
async function relErr(run: () => tf.Tensor): Promise<{ err: number; shape: number[] }> {
  const got = await on("wasm", run);
  const want = await on("cpu", run);
  assert.deepEqual(got.shape, want.shape);
  let err = 0;
  for (let i = 0; i < want.data.length; i++) {
    err = Math.max(err, Math.abs(got.data[i] - want.data[i]) / Math.max(1, Math.abs(want.data[i])));
  }
  return { err, shape: got.shape };
}

Deno.test("BatchMatMul on wasm: a·b with a fresh b and few rows runs on the own GEMM and matches cpu", async () => {
  await selectBackend("wasm");
  assert.ok(directKernels(tf.backend()) != null, "direct kernels available");
  const rand = prng(11);
  // Odd m (tiles of 4 and single rows), n with 8-wide panels, 4-wide and scalar columns, k past
  // one 256-row pass, m = 1, and rank 3 with a batch of 1.
  for (
    const [m, k, n, lead] of [
      [1, 1, 1, []],
      [5, 19, 3, []],
      [7, 300, 13, []],
      [4, 257, 16, []],
      [100, 162, 77, []],
      [300, 40, 24, []],
      [3, 600, 9, [1]],
      [50, 1500, 40, []],
    ] as [number, number, number, number[]][]
  ) {
    const av = values(rand, m * k), bv = values(rand, k * n);
    const before = ownGemm.calls;
    const { err, shape } = await relErr(() =>
      tf.matMul(tf.tensor(av, [...lead, m, k]), tf.tensor(bv, [...lead, k, n]))
    );
    assert.deepEqual(shape, [...lead, m, n]);
    assert.equal(ownGemm.calls, before + 1, `[${m},${k}]·[${k},${n}] took the own GEMM`);
    assert.ok(err <= 1e-5 * Math.sqrt(k), `[${m},${k}]·[${k},${n}]: error ${err}`);
  }
});

Deno.test("BatchMatMul on wasm: the route follows the product's rows alone, never earlier products (matches cpu)", async () => {
  await selectBackend("wasm");
  const rand = prng(12);
  const rows = 100, k = 20, n = 33;
  const av = values(rand, (OWN_GEMM_ROW_BUDGET + 1) * k), sv = values(rand, rows * k);
  const bv = values(rand, k * n), cv = values(rand, k * n);
  // [a rows, b or c, own GEMM?]: over the budget to XNNPACK, within it to our GEMM, however many
  // rows b or c had before (a route that followed history made resumed training drift).
  const cases: ["big" | "small", "b" | "c", boolean][] = [
    ["big", "b", false],
    ["small", "b", true],
    ["small", "c", true],
    ["small", "c", true],
    ["small", "c", true],
    ["small", "c", true],
    ["big", "c", false],
    ["small", "c", true],
  ];
  const run = (backend: "cpu" | "wasm") => {
    const big = tf.tensor2d(av, [OWN_GEMM_ROW_BUDGET + 1, k]), small = tf.tensor2d(sv, [rows, k]);
    const b = tf.tensor2d(bv, [k, n]), c = tf.tensor2d(cv, [k, n]);
    const outs = cases.map(([x, y, own], i) => {
      const before = ownGemm.calls;
      const out = tf.matMul(x === "big" ? big : small, y === "b" ? b : c).dataSync();
      if (backend === "wasm") {
        assert.equal(ownGemm.calls, before + (own ? 1 : 0), `product ${i}: own GEMM ${own}`);
      }
      return out;
    });
    tf.dispose([big, small, b, c]);
    return outs;
  };
  await selectBackend("wasm");
  const tensors = tf.memory().numTensors;
  const got = tf.tidy(() => run("wasm"));
  assert.equal(tf.memory().numTensors, tensors);
  // The same product gives the same bits whatever ran before it.
  assert.deepEqual(got[1], tf.tidy(() => run("wasm"))[1]);
  assert.deepEqual(got[2], got[7]);
  await selectBackend("cpu");
  const want = tf.tidy(() => run("cpu"));
  for (let o = 0; o < cases.length; o++) {
    for (let i = 0; i < want[o].length; i++) {
      assert.ok(
        Math.abs(got[o][i] - want[o][i]) <= 1e-5 * Math.max(1, Math.abs(want[o][i])),
        `product ${o} [${i}]`,
      );
    }
  }
});

Deno.test("BatchMatMul on wasm: batched products (own GEMM) match cpu for every transpose combination", async () => {
  const rand = prng(13);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  for (let rep = 0; rep < 16; rep++) {
    const transposeA = rep % 2 === 1, transposeB = (rep >> 1) % 2 === 1;
    const m = int(1, 30), k = int(1, 300), n = int(1, 40);
    const batch = rep % 3 === 0 ? [int(2, 5)] : [int(2, 3), int(1, 3)];
    // b's batch broadcast (all ones) in a third of the cases.
    const batchB = rep % 3 === 2 ? batch.map(() => 1) : batch;
    const aShape = [...batch, ...(transposeA ? [k, m] : [m, k])];
    const bShape = [...batchB, ...(transposeB ? [n, k] : [k, n])];
    const av = values(rand, aShape.reduce((p, d) => p * d, 1));
    const bv = values(rand, bShape.reduce((p, d) => p * d, 1));
    const before = ownGemm.calls;
    const { err, shape } = await relErr(() =>
      tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), transposeA, transposeB)
    );
    const what = `a [${aShape}] b [${bShape}] transposeA ${transposeA} transposeB ${transposeB}`;
    assert.deepEqual(shape, [...batch, m, n], what);
    assert.equal(ownGemm.calls, before + batch.reduce((p, d) => p * d, 1), what);
    assert.ok(err <= 1e-5 * Math.sqrt(k), `${what}: error ${err}`);
  }
});

Deno.test("BatchMatMul on wasm: the own-GEMM routes leak no tensors and free their temporaries", async () => {
  await selectBackend("wasm");
  const rand = prng(14);
  const a = tf.tensor3d(values(rand, 3 * 9 * 21), [3, 9, 21]),
    b = tf.tensor3d(values(rand, 3 * 17 * 21), [3, 17, 21]);
  const x = tf.tensor2d(values(rand, 6 * 21), [6, 21]), w = tf.tensor2d(values(rand, 21 * 30), [21, 30]);
  const run = () =>
    tf.tidy(() => {
      tf.matMul(a, b, false, true);
      tf.matMul(x, w);
      tf.matMul(x, tf.add(w, 1));
      tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q))))([
        a,
        tf.transpose(b, [0, 2, 1]),
      ]);
    });
  run();
  const tensors = tf.memory().numTensors, bytes = tf.memory().numBytes, ids = tf.backend().numDataIds();
  for (let i = 0; i < 3; i++) run();
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.backend().numDataIds(), ids, "backend buffers (temporaries) freed");
  assert.equal(tf.memory().numBytes, bytes);
  tf.dispose([a, b, x, w]);
});

Deno.test("BatchMatMul on wasm with the own GEMM off gives the same values (previous routing)", async () => {
  await selectBackend("wasm");
  const rand = prng(15);
  const a = tf.tensor2d(values(rand, 10 * 50), [10, 50]), b = tf.tensor2d(values(rand, 50 * 24), [50, 24]);
  const calls = ownGemm.calls;
  ownGemm.enabled = false;
  let off: Float32Array;
  try {
    off = tf.tidy(() => tf.matMul(a, tf.mul(b, 1))).dataSync() as Float32Array;
  } finally {
    ownGemm.enabled = true;
  }
  assert.equal(ownGemm.calls, calls);
  const on = tf.tidy(() => tf.matMul(a, tf.mul(b, 1))).dataSync();
  assert.equal(ownGemm.calls, calls + 1);
  for (let i = 0; i < on.length; i++) {
    assert.ok(Math.abs(on[i] - off[i]) <= 1e-5 * Math.max(1, Math.abs(off[i])));
  }
  tf.dispose([a, b]);
});

Deno.test("BatchMatMul on wasm without the direct kernels (threaded tfjs) takes the XNNPACK routes and matches cpu", async () => {
  const rand = prng(16);
  const cases: [number[], number[], boolean, boolean][] = [
    [[12, 30], [30, 17], false, false],
    [[3, 12, 30], [3, 30, 17], false, false],
    [[2, 30, 12], [2, 17, 30], true, true],
  ];
  setDirectKernelsEnabled(false);
  try {
    for (const [aShape, bShape, ta, tb] of cases) {
      const av = values(rand, aShape.reduce((p, d) => p * d, 1)),
        bv = values(rand, bShape.reduce((p, d) => p * d, 1));
      const calls = ownGemm.calls;
      const { err } = await relErr(() => tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), ta, tb));
      assert.equal(ownGemm.calls, calls, `[${aShape}]·[${bShape}]: no own GEMM`);
      assert.ok(err <= 1e-5 * Math.sqrt(30), `[${aShape}]·[${bShape}]: error ${err}`);
    }
  } finally {
    setDirectKernelsEnabled(true);
  }
});

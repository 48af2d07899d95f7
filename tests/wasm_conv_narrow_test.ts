/**
 * The narrow-input convolution kernels on wasm (`src/kernels/wasm/conv_narrow.ts`: `Conv2D`,
 * `FusedConv2D` with bias and relu, `Conv2DBackpropInput`, `Conv2DBackpropFilter` for inputs with
 * ≤ 4 channels at stride 1; forward and ∂W for one channel, 3×3, `valid`) against tfjs's cpu backend: odd sizes, batch 1, output channel counts
 * that are not multiples of 4 or 8, non-square filters, `valid`, `same` and explicit padding;
 * NaN and ±Infinity propagate as on cpu; the kernels leave nothing on the heap; the cases they do
 * not take (stride 2, 5 input channels, no direct kernels) still agree.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { narrowConvApplies } from "../src/kernels/wasm/conv_narrow.ts";
import { setDirectKernelsEnabled } from "../src/kernels/wasm/direct.ts";
import { prng } from "./_random.ts";
import { on, values } from "./_on_backend.ts";

type S4 = [number, number, number, number];
type Pad = "same" | "valid" | tf.backend_util.ExplicitPadding;

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);

interface Case {
  xShape: S4;
  fShape: S4;
  pad: Pad;
  stride?: number;
}

const CASES: Case[] = [
  { xShape: [2, 9, 11, 1], fShape: [3, 3, 1, 32], pad: "valid" },
  { xShape: [1, 7, 5, 1], fShape: [3, 3, 1, 21], pad: "valid" },
  { xShape: [3, 8, 6, 1], fShape: [3, 3, 1, 6], pad: "same" },
  { xShape: [2, 5, 9, 3], fShape: [3, 2, 3, 13], pad: "valid" },
  { xShape: [1, 6, 7, 4], fShape: [5, 5, 4, 3], pad: "same" },
  { xShape: [2, 4, 4, 2], fShape: [1, 1, 2, 9], pad: "valid" },
  { xShape: [1, 3, 3, 1], fShape: [3, 3, 1, 1], pad: "valid" },
  { xShape: [2, 6, 5, 1], fShape: [3, 3, 1, 20], pad: [[0, 0], [2, 0], [1, 2], [0, 0]] },
  { xShape: [2, 4, 5, 1], fShape: [3, 3, 1, 7], pad: "valid" },
  { xShape: [3, 6, 3, 1], fShape: [3, 3, 1, 4], pad: "valid" },
  { xShape: [1, 17, 13, 1], fShape: [3, 3, 1, 35], pad: "valid" },
  { xShape: [2, 8, 7, 1], fShape: [3, 3, 1, 2], pad: "valid" },
  // Not taken by the narrow kernels: the previous paths answer.
  { xShape: [2, 9, 9, 1], fShape: [3, 3, 1, 8], pad: "same", stride: 2 },
  { xShape: [1, 6, 6, 5], fShape: [3, 3, 5, 7], pad: "valid" },
];

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = 1e-4): void {
  assert.equal(a.length, b.length, `${what}: sizes differ`);
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i], b[i]];
    if (Number.isNaN(y) || !Number.isFinite(y)) {
      assert.ok(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)), `${what}[${i}]: ${x} vs ${y}`);
      continue;
    }
    assert.ok(Math.abs(x - y) <= tol * (1 + Math.abs(y)), `${what}[${i}]: ${x} vs ${y}`);
  }
}

/** Forward (plain, and fused with bias + relu) and both gradients of `c`, as flat arrays. */
function compute(c: Case, seed: number, poison?: (x: Float32Array) => void): () => tf.Tensor {
  return () => {
    const rand = prng(seed);
    const xv = values(rand, size(c.xShape));
    poison?.(xv);
    const x = tf.tensor4d(xv, c.xShape);
    const f = tf.tensor4d(values(rand, size(c.fShape)), c.fShape);
    const bias = tf.tensor1d(values(rand, c.fShape[3]));
    const s = c.stride ?? 1;
    const plain = tf.conv2d(x, f, s, c.pad);
    const fused = tf.fused.conv2d({ x, filter: f, strides: s, pad: c.pad, bias, activation: "relu" });
    const g = tf.tensor(values(rand, plain.size), plain.shape);
    const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, c.pad), g))
    )([x, f]);
    return tf.concat([plain.flatten(), fused.flatten(), dx.flatten(), df.flatten()]);
  };
}

Deno.test("narrow convolutions on wasm equal tfjs's cpu backend: forward, bias + relu, ∂x, ∂W", async () => {
  for (const [k, c] of CASES.entries()) {
    const cpu = await on("cpu", compute(c, k + 1));
    const wasm = await on("wasm", compute(c, k + 1));
    assertClose(wasm.data, cpu.data, `case ${k} [${c.xShape}] ⊛ [${c.fShape}] ${JSON.stringify(c.pad)}`);
  }
});

Deno.test("the narrow kernels take the stride-1 cases with ≤ 4 input channels (∂x) and 1-channel valid 3×3 ones (forward, ∂W)", async () => {
  await selectBackend("wasm");
  for (const valid3x3 of [false, true]) {
    const takes = CASES.map((c) =>
      narrowConvApplies(
        tf.backend(),
        tf.backend_util.computeConv2DInfo(c.xShape, c.fShape, c.stride ?? 1, 1, c.pad),
        valid3x3,
      ) != null
    );
    const expected = CASES.map((c) =>
      (c.stride ?? 1) === 1 && c.xShape[3] <= 4 &&
      (!valid3x3 || (c.xShape[3] === 1 && c.fShape[0] === 3 && c.fShape[1] === 3 && c.pad === "valid"))
    );
    assert.deepEqual(takes, expected, `valid3x3 ${valid3x3}`);
    assert.ok(takes.some((t) => t) && takes.some((t) => !t));
  }
});

Deno.test("narrow convolutions on wasm: NaN and ±Infinity in x propagate as on cpu", async () => {
  const poison = (x: Float32Array) => {
    x[3] = NaN;
    x[17] = Infinity;
    x[30] = -Infinity;
  };
  for (const k of [0, 2, 3, 11]) {
    const c = CASES[k];
    const cpu = await on("cpu", compute(c, 50 + k, poison));
    const wasm = await on("wasm", compute(c, 50 + k, poison));
    assertClose(wasm.data, cpu.data, `case ${k} with NaN/Inf`);
  }
});

Deno.test("narrow convolutions on wasm without the direct kernels fall back and agree", async () => {
  setDirectKernelsEnabled(false);
  try {
    for (const k of [0, 3, 7]) {
      const c = CASES[k];
      const cpu = await on("cpu", compute(c, 90 + k));
      const wasm = await on("wasm", compute(c, 90 + k));
      assertClose(wasm.data, cpu.data, `case ${k} (copying paths)`);
    }
  } finally {
    setDirectKernelsEnabled(true);
  }
});

Deno.test("narrow convolutions on wasm leave no tensors or heap data behind", async () => {
  await selectBackend("wasm");
  const backend = tf.backend();
  const run = () => tf.tidy(compute(CASES[0], 7)).dispose();
  run();
  const [tensors, ids] = [tf.memory().numTensors, backend.numDataIds()];
  run();
  run();
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(backend.numDataIds(), ids);
});

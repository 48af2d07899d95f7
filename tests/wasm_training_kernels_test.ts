/**
 * Our wasm training kernels (Rust SIMD128) against tfjs's cpu backend: random shapes, strides 1/2,
 * both paddings, odd sizes, batch 1; and the gradient of a small conv net on wasm against cpu's.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { prng } from "./_random.ts";
import { on as onBackend, relErr, values } from "./_on_backend.ts";

const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

/** Runs `fn` on `backend` and returns its result's values (tensors disposed). */
async function on(backend: "cpu" | "wasm", fn: () => tf.Tensor): Promise<Float32Array | Int32Array> {
  return (await onBackend(backend, fn)).data;
}

type Pad = "same" | "valid";
type S4 = [number, number, number, number];

function backpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: number[],
  stride: number,
  pad: Pad,
): tf.Tensor {
  return tf.engine().runKernel(
    tf.Conv2DBackpropFilter,
    { x, dy },
    { strides: [stride, stride], pad, dataFormat: "NHWC", filterShape } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor;
}

Deno.test("Conv2DBackpropFilter is registered on wasm", () => {
  assert.ok(tf.getKernel(tf.Conv2DBackpropFilter, "wasm"), "no Conv2DBackpropFilter kernel on wasm");
  assert.ok(tf.getKernel(tf.UnsortedSegmentSum, "wasm"), "no UnsortedSegmentSum kernel on wasm");
});

Deno.test("Conv2DBackpropFilter on wasm matches cpu on random shapes, strides and paddings", async () => {
  const rand = prng(4);
  let cases = 0;
  for (const stride of [1, 2]) {
    for (const pad of ["valid", "same"] as Pad[]) {
      for (let rep = 0; rep < 6; rep++) {
        const b = rep === 0 ? 1 : int(rand, 1, 4);
        const kh = int(rand, 1, 4);
        const kw = int(rand, 1, 4);
        // Odd and even sizes, channel counts around the 4- and 8-wide SIMD tiles.
        const h = int(rand, kh, 13);
        const w = int(rand, kw, 13);
        const ci = rep === 1 ? 1 : int(rand, 1, 19);
        const co = rep === 2 ? 1 : int(rand, 1, 37);
        const xShape: [number, number, number, number] = [b, h, w, ci];
        const filterShape = [kh, kw, ci, co];
        const info = tf.backend_util.computeConv2DInfo(
          xShape,
          filterShape as [number, number, number, number],
          stride,
          1,
          pad,
        );
        const dyShape: S4 = [b, info.outHeight, info.outWidth, co];
        const xv = values(rand, b * h * w * ci);
        const dyv = values(rand, dyShape.reduce((p, d) => p * d, 1));
        const run = () =>
          backpropFilter(tf.tensor4d(xv, xShape), tf.tensor4d(dyv, dyShape), filterShape, stride, pad);
        const got = await on("wasm", run);
        const want = await on("cpu", run);
        const err = relErr(got, want);
        assert.ok(
          err <= 1e-4,
          `x [${xShape}] filter [${filterShape}] stride ${stride} ${pad}: relative error ${err}`,
        );
        cases++;
      }
    }
  }
  assert.equal(cases, 24);
});

Deno.test("Conv2DBackpropFilter on wasm handles the paper's channel counts (1→20, 32→32)", async () => {
  const rand = prng(7);
  for (const [xShape, filterShape] of [[[2, 12, 11, 1], [3, 3, 1, 20]], [[2, 9, 9, 32], [3, 3, 32, 32]]]) {
    const info = tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number],
      filterShape as [number, number, number, number],
      1,
      1,
      "valid",
    );
    const dyShape: S4 = [xShape[0], info.outHeight, info.outWidth, filterShape[3]];
    const xv = values(rand, xShape.reduce((p, d) => p * d, 1));
    const dyv = values(rand, dyShape.reduce((p, d) => p * d, 1));
    const run = () =>
      backpropFilter(
        tf.tensor4d(xv, xShape as S4),
        tf.tensor4d(dyv, dyShape),
        filterShape,
        1,
        "valid",
      );
    const err = relErr(await on("wasm", run), await on("cpu", run));
    assert.ok(err <= 1e-4, `x [${xShape}] filter [${filterShape}]: relative error ${err}`);
  }
});

Deno.test("Conv2DBackpropFilter on wasm rejects NCHW and a dy of the wrong shape, by name", async () => {
  await selectBackend("wasm");
  const x = tf.zeros([1, 5, 5, 2]) as tf.Tensor4D;
  const dy = tf.zeros([1, 3, 3, 4]) as tf.Tensor4D;
  assert.throws(
    () =>
      tf.engine().runKernel(
        tf.Conv2DBackpropFilter,
        { x, dy },
        { strides: [1, 1], pad: "valid", dataFormat: "NCHW", filterShape: [3, 3, 2, 4] } as never,
      ),
    /dataFormat must be "NHWC"; got "NCHW"/,
  );
  assert.throws(
    () => backpropFilter(x, dy, [2, 2, 2, 4], 1, "valid"),
    /dy must have shape \[1,4,4,4\]; got \[1,3,3,4\]/,
  );
  tf.dispose([x, dy]);
});

function backpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: S4,
  stride: number,
  pad: Pad,
): tf.Tensor {
  return tf.engine().runKernel(
    tf.Conv2DBackpropInput,
    { dy, filter },
    { strides: [stride, stride], pad, dataFormat: "NHWC", inputShape } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor;
}

Deno.test("Conv2DBackpropInput on wasm (ours for stride 1, tfjs's for 2) matches cpu", async () => {
  const rand = prng(5);
  for (const stride of [1, 2]) {
    for (const pad of ["valid", "same"] as Pad[]) {
      for (let rep = 0; rep < 5; rep++) {
        const b = rep === 0 ? 1 : int(rand, 1, 4);
        const kh = int(rand, 1, 4);
        const kw = int(rand, 1, 4);
        const inputShape: S4 = [b, int(rand, kh, 13), int(rand, kw, 13), rep === 1 ? 1 : int(rand, 1, 19)];
        const filterShape: S4 = [kh, kw, inputShape[3], rep === 2 ? 1 : int(rand, 1, 37)];
        const info = tf.backend_util.computeConv2DInfo(inputShape, filterShape, stride, 1, pad);
        const dyShape: S4 = [b, info.outHeight, info.outWidth, filterShape[3]];
        const dyv = values(rand, dyShape.reduce((p, d) => p * d, 1));
        const fv = values(rand, filterShape.reduce((p, d) => p * d, 1));
        const run = () =>
          backpropInput(tf.tensor4d(dyv, dyShape), tf.tensor4d(fv, filterShape), inputShape, stride, pad);
        const err = relErr(await on("wasm", run), await on("cpu", run));
        assert.ok(
          err <= 1e-4,
          `input [${inputShape}] filter [${filterShape}] stride ${stride} ${pad}: relative error ${err}`,
        );
      }
    }
  }
});

Deno.test("Conv2DBackpropInput on wasm for 1–4 input channels (the Rust gather) matches cpu", async () => {
  const rand = prng(23);
  for (
    const [inputShape, co, stride, pad] of [
      [[2, 11, 12, 1], 96, 1, "valid"],
      [[1, 9, 9, 1], 32, 2, "same"],
      [[3, 8, 7, 4], 13, 2, "valid"],
      [[2, 7, 9, 2], 5, 1, "same"],
    ] as [S4, number, number, Pad][]
  ) {
    const filterShape: S4 = [3, 3, inputShape[3], co];
    const info = tf.backend_util.computeConv2DInfo(inputShape, filterShape, stride, 1, pad);
    const dyShape: S4 = [inputShape[0], info.outHeight, info.outWidth, co];
    const dyv = values(rand, dyShape.reduce((p, d) => p * d, 1));
    const fv = values(rand, filterShape.reduce((p, d) => p * d, 1));
    const run = () =>
      backpropInput(tf.tensor4d(dyv, dyShape), tf.tensor4d(fv, filterShape), inputShape, stride, pad);
    const err = relErr(await on("wasm", run), await on("cpu", run));
    assert.ok(err <= 1e-4, `input [${inputShape}] → ${co} stride ${stride} ${pad}: relative error ${err}`);
  }
});

Deno.test("Conv2DBackpropInput on wasm replaces tfjs-wasm's kernel and leaks no tensor data", async () => {
  await selectBackend("wasm");
  const kernel = tf.getKernel(tf.Conv2DBackpropInput, "wasm");
  // tfjs-backend-wasm's own kernel function is named after the op; ours wraps it.
  assert.notEqual(
    kernel?.kernelFunc.name,
    "conv2DBackpropInput",
    "tfjs-wasm's own kernel is still registered",
  );
  const dy = tf.ones([2, 5, 5, 3]) as tf.Tensor4D;
  const filter = tf.ones([3, 3, 4, 3]) as tf.Tensor4D;
  const before = tf.memory().numBytes;
  for (let i = 0; i < 5; i++) backpropInput(dy, filter, [2, 7, 7, 4], 1, "valid").dispose();
  assert.equal(tf.memory().numBytes, before);
  tf.dispose([dy, filter]);
});

Deno.test("both conv gradients on wasm are the adjoints of Conv2D at batch 256 and 128 channels", async () => {
  // cpu's scalar loops would take minutes here, so check ⟨conv(x, W), dy⟩ = ⟨W, ∂W⟩ = ⟨x, ∂x⟩ instead.
  await selectBackend("wasm");
  const rand = prng(19);
  for (
    const [xShape, filterShape, stride, pad] of [
      [[256, 9, 9, 128], [3, 3, 128, 128], 1, "valid"],
      [[256, 11, 10, 3], [3, 2, 3, 128], 2, "same"],
    ] as [S4, S4, number, Pad][]
  ) {
    const x = tf.tensor4d(values(rand, xShape.reduce((p, d) => p * d, 1)), xShape);
    const w = tf.tensor4d(values(rand, filterShape.reduce((p, d) => p * d, 1)), filterShape);
    const y = tf.conv2d(x, w, stride, pad);
    // dy = y makes the identity ‖y‖² = ⟨W, ∂W⟩ = ⟨x, ∂x⟩: no cancellation to hide an error in.
    const dy = y;
    const dw = backpropFilter(x, dy, filterShape, stride, pad);
    const dx = backpropInput(dy, w, xShape, stride, pad);
    const dot = async (a: tf.Tensor, b: tf.Tensor) => {
      const [u, v] = [await a.data(), await b.data()];
      let sum = 0;
      let scale = 0;
      for (let i = 0; i < u.length; i++) {
        sum += u[i] * v[i];
        scale += Math.abs(u[i] * v[i]);
      }
      return { sum, scale };
    };
    const forward = await dot(y, dy);
    for (const [name, got] of [["∂W", await dot(w, dw)], ["∂x", await dot(x, dx)]] as const) {
      const err = Math.abs(got.sum - forward.sum) / forward.scale;
      assert.ok(err <= 1e-4, `${name} for x [${xShape}] filter [${filterShape}]: adjoint mismatch ${err}`);
    }
    tf.dispose([x, w, y, dw, dx]);
  }
});

Deno.test("UnsortedSegmentSum on wasm matches cpu (float32 and int32, ids out of range dropped)", async () => {
  const rand = prng(11);
  for (let rep = 0; rep < 8; rep++) {
    const n = int(rand, 1, 40);
    const inner = [int(rand, 1, 3), int(rand, 1, 7)];
    const segments = int(rand, 1, 12);
    // A few ids fall outside [0, segments): TensorFlow drops them, and so does tfjs's cpu kernel.
    const ids = Array.from({ length: n }, () => int(rand, -1, segments));
    const xv = values(rand, n * inner[0] * inner[1]);
    const dtype = rep % 2 === 0 ? "float32" : "int32";
    const run = () =>
      tf.unsortedSegmentSum(
        dtype === "float32" ? tf.tensor(xv, [n, ...inner]) : tf.tensor(xv, [n, ...inner]).mul(100).toInt(),
        tf.tensor1d(ids, "int32"),
        segments,
      );
    const got = await on("wasm", run);
    const want = await on("cpu", run);
    assert.ok(relErr(got, want) <= 1e-6, `${dtype} n=${n} inner=[${inner}] segments=${segments}`);
    if (dtype === "int32") assert.ok(got instanceof Int32Array);
  }
});

Deno.test("the gradient of gather (UnsortedSegmentSum) on wasm equals cpu's", async () => {
  const rand = prng(13);
  const table = values(rand, 9 * 5);
  const idx = Array.from({ length: 23 }, () => int(rand, 0, 8));
  const weights = values(rand, 23 * 5);
  const run = () =>
    tf.grad((t: tf.Tensor) => tf.gather(t, tf.tensor1d(idx, "int32")).mul(tf.tensor(weights, [23, 5])).sum())(
      tf.tensor(table, [9, 5]),
    );
  const err = relErr(await on("wasm", run), await on("cpu", run));
  assert.ok(err <= 1e-5, `relative error ${err}`);
});

Deno.test("the gradient of a small conv net on wasm equals cpu's", async () => {
  const rand = prng(17);
  const xShape = [3, 13, 13, 2];
  const xv = values(rand, xShape.reduce((p, d) => p * d, 1));
  const w1 = values(rand, 3 * 3 * 2 * 6);
  const w2 = values(rand, 3 * 3 * 6 * 5);
  const w3 = values(rand, 3 * 3 * 5 * 4);
  const labels = [1, 3, 0];
  const grads = async (backend: "cpu" | "wasm") => {
    await selectBackend(backend);
    const vars = [
      tf.variable(tf.tensor4d(w1, [3, 3, 2, 6])),
      tf.variable(tf.tensor4d(w2, [3, 3, 6, 5])),
      tf.variable(tf.tensor2d(w3, [45, 4])),
    ];
    const x = tf.tensor4d(xv, xShape as [number, number, number, number]);
    const y = tf.oneHot(tf.tensor1d(labels, "int32"), 4);
    const { value, grads } = tf.variableGrads(() => {
      const h1 = tf.relu(tf.conv2d(x, vars[0] as tf.Tensor4D, 1, "valid")); // 11×11×6
      const p1 = tf.maxPool(h1, 2, 2, "valid"); // 5×5×6
      const h2 = tf.relu(tf.conv2d(p1, vars[1] as tf.Tensor4D, 2, "same")); // 3×3×5
      const logits = tf.matMul(h2.reshape([3, 45]), vars[2] as tf.Tensor2D);
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    }, vars);
    const out = {
      loss: (await value.data())[0],
      g: await Promise.all(vars.map((v) => grads[v.name].data())),
    };
    tf.dispose([value, x, y, ...vars, ...Object.values(grads)]);
    return out;
  };
  const cpu = await grads("cpu");
  const wasm = await grads("wasm");
  assert.ok(Math.abs(cpu.loss - wasm.loss) <= 1e-5 * Math.abs(cpu.loss), `loss ${wasm.loss} vs ${cpu.loss}`);
  cpu.g.forEach((g, i) => {
    const err = relErr(wasm.g[i], g);
    assert.ok(err <= 1e-4, `gradient of variable ${i}: relative error ${err}`);
  });
});

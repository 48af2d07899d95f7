/**
 * Winograd F(2×2, 3×3) on wasm (Conv2D, FusedConv2D, Conv2DBackpropInput, Conv2DBackpropFilter)
 * against tfjs's cpu backend: random shapes with odd sizes, 1- and 2-wide output edges, batch 1,
 * channel counts that are not multiples of 4, both paddings; a conv net's gradient; no leaks.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import {
  winogradApplies,
  winogradSettings,
  type WinogradTile,
  winogradTile,
} from "../src/kernels/wasm/winograd.ts";
import { prng } from "./_random.ts";
import { on, relErr, values } from "./_on_backend.ts";

type S4 = [number, number, number, number];
type Pad = "same" | "valid" | tf.backend_util.ExplicitPadding;

const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const size = (s: number[]) => s.reduce((p, d) => p * d, 1);

/**
 * Random 3×3 stride-1 cases that take the Winograd path: odd/even sizes, 13×13 down to 2×2 outputs,
 * `valid`, `same` and explicit (asymmetric) padding, down to a 2×3 and a 2×1 input.
 */
function cases(seed: number, n: number): { xShape: S4; co: number; pad: Pad }[] {
  const rand = prng(seed);
  const out: { xShape: S4; co: number; pad: Pad }[] = [];
  for (let rep = 0; rep < n; rep++) {
    const side = (): [number, number] => [int(rand, 0, 2), int(rand, 0, 2)];
    const ci = [16, 17, 19, 23, 32, 33][int(rand, 0, 5)];
    const co = [16, 18, 21, 29, 32, 35][int(rand, 0, 5)];
    const applies = (xShape: S4, pad: Pad) =>
      winogradApplies(tf.backend_util.computeConv2DInfo(xShape, [3, 3, ci, co], 1, 1, pad));
    let pad: Pad;
    let xShape: S4;
    if (rep === n - 1) [xShape, pad] = [[1, 2, 3, ci], "same"];
    else if (rep === n - 2) [xShape, pad] = [[2, 2, 1, ci], [[0, 0], [1, 1], [1, 2], [0, 0]]];
    else {
      const h = [15, 13, 6, 4][rep % 4];
      // Redraws the sizes that Winograd leaves to the direct kernel (outputs of 1 row or column).
      do {
        pad = rep % 3 === 0 ? "valid" : rep % 3 === 1 ? "same" : [[0, 0], side(), side(), [0, 0]];
        xShape = [
          rep < 2 ? 1 : int(rand, 1, 3),
          rep < 4 ? h : int(rand, 3, 17),
          rep < 4 ? h : int(rand, 3, 17),
          ci,
        ];
      } while (!applies(xShape, pad));
    }
    assert.ok(applies(xShape, pad), `case [${xShape}] → ${co} does not take Winograd`);
    out.push({ xShape, co, pad });
  }
  return out;
}

const TOL = 1e-4;

/** Runs `fn` with the tile size forced to `tile` (both variants are tested on every shape). */
async function withTile(tile: WinogradTile, fn: () => Promise<void>): Promise<void> {
  winogradSettings.tile = tile;
  try {
    await fn();
  } finally {
    winogradSettings.tile = 0;
  }
}

Deno.test("the tile size follows the multiply count, partial edge tiles counted whole", () => {
  const tile = (h: number, w: number) =>
    winogradTile(tf.backend_util.computeConv2DInfo([1, h, w, 16], [3, 3, 16, 16], 1, 1, "valid"));
  assert.equal(tile(15, 15), 4); // 13 outputs: 4² tiles · 36 = 576 < 7² · 16 = 784
  assert.equal(tile(6, 6), 4); // 4 outputs: one 4×4 tile, 36 < 64
  assert.equal(tile(4, 4), 2); // 2 outputs: 16 < 36
  assert.equal(tile(7, 7), 3); // 5 outputs: 4 · 25 = 100 < 4 · 36 = 144 = 9 · 16
  assert.equal(tile(11, 11), 3); // 9 outputs: 9 · 25 = 225 < 9 · 36 = 324 < 25 · 16 = 400
  assert.equal(tile(20, 20), 3); // 18 outputs: 36 · 25 = 900 = 25 · 36: the tie goes to the smaller tile
  assert.equal(tile(11, 15), 3); // 9 × 13 outputs: 3 · 5 · 25 = 375 < 3 · 4 · 36 = 432
});

Deno.test("outputs too small to save multiplies keep the direct kernel", () => {
  const applies = (h: number, w: number) =>
    winogradApplies(tf.backend_util.computeConv2DInfo([4, h, w, 32], [3, 3, 32, 32], 1, 1, "valid"));
  assert.ok(!applies(3, 3)); // 1×1: F(2×2) 16 multiplies against 9
  assert.ok(!applies(3, 15)); // 1×13: 112 against 117
  assert.ok(applies(4, 4)); // 2×2: 16 against 36
  assert.ok(applies(15, 15));
});

Deno.test("Conv2D on wasm (Winograd) matches cpu (F(2×2), F(3×3) and F(4×4))", async () => {
  for (const tile of [2, 3, 4] as const) {
    await withTile(tile, async () => {
      const rand = prng(1);
      for (const { xShape, co, pad } of cases(2, 10)) {
        const fShape: S4 = [3, 3, xShape[3], co];
        const xv = values(rand, size(xShape));
        const fv = values(rand, size(fShape));
        const run = () => tf.conv2d(tf.tensor4d(xv, xShape), tf.tensor4d(fv, fShape), 1, pad);
        const got = await on("wasm", run);
        const want = await on("cpu", run);
        assert.deepEqual(got.shape, want.shape);
        const err = relErr(got.data, want.data);
        assert.ok(err <= TOL, `x [${xShape}] → ${co} ${JSON.stringify(pad)}: relative error ${err}`);
      }
    });
  }
});

Deno.test("FusedConv2D on wasm (Winograd, bias and relu/linear fused) matches cpu (F(2×2), F(3×3) and F(4×4))", async () => {
  for (const tile of [2, 3, 4] as const) {
    await withTile(tile, async () => {
      const rand = prng(3);
      const acts = ["relu", "linear", "relu", "elu"] as const;
      for (const [i, { xShape, co, pad }] of cases(4, 8).entries()) {
        const fShape: S4 = [3, 3, xShape[3], co];
        const xv = values(rand, size(xShape));
        const fv = values(rand, size(fShape));
        const bv = values(rand, co);
        const activation = acts[i % acts.length];
        const withBias = i % 3 !== 2;
        const run = () =>
          tf.fused.conv2d({
            x: tf.tensor4d(xv, xShape),
            filter: tf.tensor4d(fv, fShape),
            strides: 1,
            pad,
            bias: withBias ? tf.tensor1d(bv) : undefined,
            activation,
          });
        const got = await on("wasm", run);
        const want = await on("cpu", run);
        const err = relErr(got.data, want.data);
        assert.ok(
          err <= TOL,
          `x [${xShape}] → ${co} ${
            JSON.stringify(pad)
          } ${activation} bias ${withBias}: relative error ${err}`,
        );
      }
    });
  }
});

Deno.test("Conv2DBackpropInput and Conv2DBackpropFilter on wasm (Winograd) match cpu (F(2×2), F(3×3) and F(4×4))", async () => {
  for (const tile of [2, 3, 4] as const) {
    await withTile(tile, async () => {
      const rand = prng(5);
      for (const { xShape, co, pad } of cases(6, 10)) {
        const fShape: S4 = [3, 3, xShape[3], co];
        const info = tf.backend_util.computeConv2DInfo(xShape, fShape, 1, 1, pad);
        const dyShape: S4 = [xShape[0], info.outHeight, info.outWidth, co];
        const xv = values(rand, size(xShape));
        const fv = values(rand, size(fShape));
        const dyv = values(rand, size(dyShape));
        const attrs = { strides: [1, 1], pad, dataFormat: "NHWC" };
        const dx = () =>
          tf.engine().runKernel(
            tf.Conv2DBackpropInput,
            { dy: tf.tensor4d(dyv, dyShape), filter: tf.tensor4d(fv, fShape) },
            { ...attrs, inputShape: xShape } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
        const dw = () =>
          tf.engine().runKernel(
            tf.Conv2DBackpropFilter,
            { x: tf.tensor4d(xv, xShape), dy: tf.tensor4d(dyv, dyShape) },
            { ...attrs, filterShape: fShape } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
        for (const [name, run] of [["∂x", dx], ["∂W", dw]] as const) {
          const got = await on("wasm", run);
          const want = await on("cpu", run);
          assert.deepEqual(got.shape, want.shape);
          const err = relErr(got.data, want.data);
          assert.ok(
            err <= TOL,
            `${name} for x [${xShape}] → ${co} ${JSON.stringify(pad)}: relative error ${err}`,
          );
        }
      }
    });
  }
});

Deno.test("Winograd agrees with the direct wasm kernels at a training shape (batch 8, 96 channels)", async () => {
  await selectBackend("wasm");
  const rand = prng(7);
  const xShape: S4 = [8, 15, 15, 96];
  const fShape: S4 = [3, 3, 96, 96];
  const x = tf.tensor4d(values(rand, size(xShape)), xShape);
  const w = tf.tensor4d(values(rand, size(fShape)), fShape);
  const dy = tf.tensor4d(values(rand, 8 * 13 * 13 * 96), [8, 13, 13, 96]);
  const run = () => {
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "valid").mul(dy).sum()
    )([
      x,
      w,
    ]);
    return [tf.conv2d(x, w, 1, "valid"), dx, dw].map((t) => t.dataSync().slice());
  };
  const wino = tf.tidy(run);
  winogradSettings.enabled = false;
  let direct: Float32Array[];
  try {
    direct = tf.tidy(run) as Float32Array[];
  } finally {
    winogradSettings.enabled = true;
  }
  ["y", "∂x", "∂W"].forEach((name, i) => {
    const err = relErr(wino[i], direct[i]);
    assert.ok(err <= TOL, `${name}: relative error ${err}`);
    // Rounding differs between the two algorithms: identical bits would mean Winograd never ran.
    assert.ok(wino[i].some((v, j) => v !== direct[i][j]), `${name}: the Winograd path did not run`);
  });
  tf.dispose([x, w, dy]);
});

Deno.test("the gradient of a conv net with Winograd layers on wasm equals cpu's (F(2×2), F(3×3) and F(4×4))", async () => {
  for (const tile of [2, 3, 4] as const) {
    await withTile(tile, async () => {
      const rand = prng(9);
      const xShape: S4 = [2, 11, 9, 3];
      const xv = values(rand, size(xShape));
      const w1 = values(rand, 3 * 3 * 3 * 17);
      const w2 = values(rand, 3 * 3 * 17 * 18);
      const b2 = values(rand, 18);
      const w3 = values(rand, 3 * 3 * 18 * 19);
      const grads = async (backend: "cpu" | "wasm") => {
        await selectBackend(backend);
        const vars = [
          tf.variable(tf.tensor4d(w1, [3, 3, 3, 17])),
          tf.variable(tf.tensor4d(w2, [3, 3, 17, 18])),
          tf.variable(tf.tensor1d(b2)),
          tf.variable(tf.tensor4d(w3, [3, 3, 18, 19])),
        ];
        const x = tf.tensor4d(xv, xShape);
        const { value, grads } = tf.variableGrads(() => {
          const h1 = tf.relu(tf.conv2d(x, vars[0] as tf.Tensor4D, 1, "same")); // 11×9×17 (direct: 3 → 17)
          const h2 = tf.fused.conv2d({
            x: h1,
            filter: vars[1] as tf.Tensor4D,
            strides: 1,
            pad: "valid",
            bias: vars[2] as tf.Tensor1D,
            activation: "relu",
          }); // 9×7×18
          const h3 = tf.conv2d(h2, vars[3] as tf.Tensor4D, 1, "same"); // 9×7×19
          return h3.square().mean() as tf.Scalar;
        }, vars);
        const out = {
          loss: (await value.data())[0],
          g: await Promise.all(vars.map((v) => grads[v.name].data())),
        };
        tf.dispose([value, x, ...vars, ...Object.values(grads)]);
        return out;
      };
      const cpu = await grads("cpu");
      const wasm = await grads("wasm");
      assert.ok(
        Math.abs(cpu.loss - wasm.loss) <= 1e-4 * Math.abs(cpu.loss),
        `loss ${wasm.loss} vs ${cpu.loss}`,
      );
      cpu.g.forEach((g, i) => {
        const err = relErr(wasm.g[i], g);
        assert.ok(err <= TOL, `gradient of variable ${i}: relative error ${err}`);
      });
    });
  }
});

Deno.test("Conv2D and FusedConv2D outside Winograd's cases keep tfjs's kernel and match cpu", async () => {
  const rand = prng(11);
  const cases: { x: S4; f: S4; stride: number; dilation: number; activation?: "leakyrelu" | "relu" }[] = [
    { x: [2, 9, 9, 16], f: [3, 3, 16, 16], stride: 2, dilation: 1 },
    { x: [2, 9, 9, 16], f: [3, 3, 16, 16], stride: 1, dilation: 2 },
    { x: [2, 9, 9, 16], f: [5, 5, 16, 16], stride: 1, dilation: 1 },
    { x: [2, 9, 9, 8], f: [3, 3, 8, 16], stride: 1, dilation: 1 },
    { x: [2, 9, 9, 16], f: [3, 3, 16, 16], stride: 1, dilation: 1, activation: "leakyrelu" },
  ];
  for (const c of cases) {
    const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.stride, c.dilation, "valid");
    if (c.activation == null) assert.ok(!winogradApplies(info), `[${c.x}] ⊛ [${c.f}] takes Winograd`);
    const xv = values(rand, size(c.x));
    const fv = values(rand, size(c.f));
    const run = () =>
      tf.fused.conv2d({
        x: tf.tensor4d(xv, c.x),
        filter: tf.tensor4d(fv, c.f),
        strides: c.stride,
        dilations: c.dilation,
        pad: "valid",
        activation: c.activation ?? "linear",
        leakyreluAlpha: 0.1,
      });
    const err = relErr((await on("wasm", run)).data, (await on("cpu", run)).data);
    assert.ok(
      err <= 1e-5,
      `[${c.x}] ⊛ [${c.f}] stride ${c.stride} dilation ${c.dilation}: relative error ${err}`,
    );
  }
});

Deno.test("the Winograd kernels leak no tensors or tensor data", async () => {
  await selectBackend("wasm");
  const x = tf.ones([2, 7, 7, 16]) as tf.Tensor4D;
  const w = tf.ones([3, 3, 16, 16]) as tf.Tensor4D;
  const bias = tf.ones([16]) as tf.Tensor1D;
  const step = () =>
    tf.tidy(() => {
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.fused.conv2d({
          x: a as tf.Tensor4D,
          filter: b as tf.Tensor4D,
          strides: 1,
          pad: "same",
          bias,
          activation: "relu",
        }).sum()
      )([x, w]);
      return tf.addN([dx.sum(), dw.sum(), tf.conv2d(x, w, 1, "valid").sum()]);
    });
  step().dispose();
  const before = tf.memory();
  for (let i = 0; i < 3; i++) step().dispose();
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytes, before.numBytes);
  tf.dispose([x, w, bias]);
});

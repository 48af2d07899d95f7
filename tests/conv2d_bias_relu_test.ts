/**
 * `conv2dBiasRelu` (src/ops/conv2d_bias_relu.ts) and the `FastConv2D` layer that uses it: values and
 * all three gradients equal tfjs's unfused conv2d → add → relu on cpu and wasm (random shapes with
 * batch 1, odd sizes, channel counts not a multiple of 4, stride 2, "same" padding), only the
 * gradients asked for are computed, nothing leaks, and the layer is a drop-in `Conv2D` (config,
 * weights, serialization) with tfjs's own `call` wherever the fused path does not apply.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { conv2dBiasRelu } from "../src/ops/conv2d_bias_relu.ts";
import { FastConv2D } from "../src/layers/fast_conv2d.ts";
import { CONV2D_BIAS_RELU, RELU_BIAS_GRAD } from "../src/kernels/conv2d_bias_relu_spec.ts";
import { setDirectKernelsEnabled } from "../src/kernels/wasm/direct.ts";
import { prng } from "./_random.ts";
import { values } from "./_on_backend.ts";

type Case = {
  x: [number, number, number, number];
  k: [number, number];
  cout: number;
  strides: [number, number];
  pad: "valid" | "same";
};

function cases(): Case[] {
  const rand = prng(21);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const out: Case[] = [
    // The paper's layers in small: 3×3 valid, stride 1; a 1-channel input; batch 1.
    { x: [2, 9, 9, 1], k: [3, 3], cout: 8, strides: [1, 1], pad: "valid" },
    { x: [1, 7, 6, 5], k: [3, 3], cout: 6, strides: [1, 1], pad: "valid" },
  ];
  for (let rep = 0; rep < 10; rep++) {
    const k: [number, number] = [int(1, 4), int(1, 4)];
    out.push({
      x: [int(1, 3), int(k[0], 11), int(k[1], 11), int(1, 7)],
      k,
      cout: int(1, 9),
      strides: [int(1, 2), int(1, 2)],
      pad: rep % 2 ? "same" : "valid",
    });
  }
  return out;
}

/** Loss weights that make every output element's gradient distinct. */
function weigh(y: tf.Tensor, seed: number): tf.Scalar {
  return tf.sum(tf.mul(y, tf.tensor(values(prng(seed), y.size), y.shape)));
}

async function run(
  backend: "cpu" | "wasm",
  c: Case,
  fused: boolean,
  seed: number,
): Promise<Float32Array[]> {
  await selectBackend(backend);
  const rand = prng(seed);
  const x = tf.tensor4d(values(rand, c.x.reduce((a, b) => a * b)), c.x);
  const w = tf.tensor4d(values(rand, c.k[0] * c.k[1] * c.x[3] * c.cout), [...c.k, c.x[3], c.cout]);
  // Biases of either sign, so that some outputs are clipped by the ReLU and some not.
  const b = tf.tensor1d(values(rand, c.cout).map((v) => v * 0.5));
  const before = tf.memory().numTensors;
  const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
    weigh(
      fused
        ? conv2dBiasRelu(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, {
          strides: c.strides,
          pad: c.pad,
        })
        : tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad), b)),
      seed + 1,
    );
  const y = tf.tidy(() => f(x, w, b));
  const grads = tf.grads(f)([x, w, b]);
  const out = [
    await y.data() as Float32Array,
    ...await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>)),
  ];
  tf.dispose([y, ...grads]);
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  tf.dispose([x, w, b]);
  return out;
}

function close(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    // NaN matches NaN and ±∞ matches itself; finite values to 1e-4 relative.
    assert.ok(
      Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])) ||
        Math.abs(got[i] - want[i]) <= 1e-4 * Math.max(1, Math.abs(want[i])),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
}

Deno.test("conv2dBiasRelu runs as one RnnspnConv2DBiasRelu kernel on cpu and wasm", async () => {
  for (const backend of ["cpu", "wasm"] as const) {
    await selectBackend(backend);
    assert.ok(tf.getKernel(CONV2D_BIAS_RELU, backend), backend);
    const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D, w = tf.ones([3, 3, 2, 3]) as tf.Tensor4D;
    const b = tf.tensor1d([-20, 0, 1]);
    const { kernels, result } = await tf.profile(() => conv2dBiasRelu(x, w, b)) as unknown as {
      kernels: { name: string }[];
      result: tf.Tensor;
    };
    assert.deepEqual(kernels.map((k) => k.name), [CONV2D_BIAS_RELU], backend);
    // 18 ones summed, plus the bias; the first channel's −2 is clipped.
    assert.deepEqual(Array.from(await result.data()), Array(4).fill([0, 18, 19]).flat(), backend);
    tf.dispose([x, w, b, result]);
  }
});

Deno.test("conv2dBiasRelu: value and gradients (x, filter, bias) equal tfjs's unfused conv2d+add+relu on cpu and wasm", async () => {
  for (const [i, c] of cases().entries()) {
    const what = `x [${c.x}] k [${c.k}] cout ${c.cout} strides [${c.strides}] ${c.pad}`;
    for (const backend of ["cpu", "wasm"] as const) {
      // Against the same backend's unfused path: tfjs-wasm 4.22's own Conv2D is wrong for some
      // "same" convolutions with stride > 1 and an even kernel size (e.g. k [4, 1], strides [1, 2]),
      // and FusedConv2D shares that code; the fused op must not differ from what tfjs gives there.
      const want = await run(backend, c, false, 100 + i);
      const got = await run(backend, c, true, 100 + i);
      ["loss", "dx", "dfilter", "dbias"].forEach((name, j) =>
        close(got[j], want[j], `${backend} ${what} ${name}`)
      );
    }
  }
});

Deno.test("conv2dBiasRelu: a gradient for the filter alone does not compute the input's", async () => {
  await selectBackend("wasm");
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.variable(tf.randomNormal([3, 3, 3, 4], 0, 1, "float32", 2));
  const b = tf.variable(tf.zeros([4]));
  const info = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() =>
      tf.sum(conv2dBiasRelu(x, w as tf.Tensor4D, b as tf.Tensor1D))
    );
    tf.dispose([value, grads]);
  });
  const names = info.kernels.map((k) => k.name);
  assert.ok(names.includes("Conv2DBackpropFilter"), names.join(" "));
  assert.ok(!names.includes("Conv2DBackpropInput"), names.join(" "));
  tf.dispose([x, w, b]);
});

Deno.test("conv2dBiasRelu: bad input gives a specific error", async () => {
  await selectBackend("cpu");
  const x = tf.zeros([1, 5, 5, 2]) as tf.Tensor4D;
  const w = tf.zeros([3, 3, 2, 4]) as tf.Tensor4D;
  const b = tf.zeros([4]) as tf.Tensor1D;
  assert.throws(() => conv2dBiasRelu(x, w, tf.zeros([3]) as tf.Tensor1D), /Cout = bias' length/);
  assert.throws(() => conv2dBiasRelu(x, tf.zeros([3, 3, 1, 4]) as tf.Tensor4D, b), /Cin = x's channels/);
  assert.throws(() => conv2dBiasRelu(tf.zeros([5, 5, 2]) as unknown as tf.Tensor4D, w, b), /rank 4, 4 and 1/);
  assert.throws(() => conv2dBiasRelu(x, w, b, { strides: 0 }), /strides/);
  assert.throws(() => conv2dBiasRelu(x, w, b, { pad: "causal" as "same" }), /pad/);
  tf.dispose([x, w, b]);
});

/** A model with one `FastConv2D` (or tfjs's `Conv2D`) and the same weights either way. */
function layerModel(fast: boolean, args: Parameters<typeof tf.layers.conv2d>[0]): tf.LayersModel {
  const input = tf.input({ shape: [9, 8, 3] });
  const layer = fast ? new FastConv2D(args) : tf.layers.conv2d(args);
  return tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
}

Deno.test("FastConv2D is a drop-in Conv2D: config, weights, values and gradients; other activations use Conv2D.call", async () => {
  for (const backend of ["cpu", "wasm"] as const) {
    await selectBackend(backend);
    for (
      const args of [
        { filters: 5, kernelSize: 3, activation: "relu", name: "c" },
        { filters: 5, kernelSize: 2, strides: 2, padding: "same", activation: "relu", name: "c" },
        { filters: 5, kernelSize: 3, activation: "tanh", name: "c" },
        { filters: 5, kernelSize: 3, activation: "relu", useBias: false, name: "c" },
      ] as Parameters<typeof tf.layers.conv2d>[0][]
    ) {
      const seeded = { ...args, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) };
      const fast = layerModel(true, {
        ...seeded,
        biasInitializer: tf.initializers.randomNormal({ seed: 5 }),
      });
      const slow = layerModel(false, {
        ...seeded,
        biasInitializer: tf.initializers.randomNormal({ seed: 5 }),
      });
      const what = `${backend} ${JSON.stringify(args)}`;
      assert.deepEqual(fast.layers[1].getConfig(), slow.layers[1].getConfig(), what);
      assert.equal(fast.layers[1].getClassName(), "Conv2D", what);
      // tfjs makes weight names unique per process with a numeric suffix.
      const names = (m: tf.LayersModel) => m.layers[1].weights.map((w) => w.name.replace(/_\d+$/, ""));
      assert.deepEqual(names(fast), names(slow), what);
      const x = tf.randomNormal([2, 9, 8, 3], 0, 1, "float32", 6);
      const info = await tf.profile(() => fast.apply(x) as tf.Tensor);
      const fused = args.activation === "relu" && args.useBias !== false;
      assert.equal(info.kernels.some((k) => k.name === CONV2D_BIAS_RELU), fused, `${what}: fused path`);
      (info.result as tf.Tensor).dispose();
      const before = tf.memory().numTensors;
      // Loss and the gradient of each weight, in the layer's weight order.
      const grad = (m: tf.LayersModel) => {
        const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(
          () => weigh(m.apply(x, { training: true }) as tf.Tensor, 7),
          vars,
        );
        return [value, ...vars.map((v) => grads[v.name])];
      };
      const a = grad(fast), b = grad(slow);
      assert.equal(a.length, b.length, what);
      for (let i = 0; i < a.length; i++) {
        close(await a[i].data() as Float32Array, await b[i].data() as Float32Array, `${what} [${i}]`);
      }
      tf.dispose([...a, ...b]);
      assert.equal(tf.memory().numTensors, before, `${what}: tensors leaked`);
      x.dispose();
      fast.dispose();
      slow.dispose();
    }
  }
});

Deno.test("FastConv2D stands in for Conv2D in deserialization: a Conv2D model reloads with it, same outputs", async () => {
  await selectBackend("wasm");
  const slow = layerModel(false, { filters: 4, kernelSize: 3, activation: "relu", name: "c" });
  const artifacts = await new Promise<tf.io.ModelArtifacts>((resolve) => {
    slow.save(tf.io.withSaveHandler((a) => {
      resolve(a);
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
    }));
  });
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  assert.ok(loaded.layers[1] instanceof FastConv2D);
  const x = tf.randomNormal([1, 9, 8, 3], 0, 1, "float32", 8);
  const [p, q] = [slow.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
  close(await q.data() as Float32Array, await p.data() as Float32Array, "reloaded");
  tf.dispose([x, p, q]);
  slow.dispose();
  loaded.dispose();
});

Deno.test("RnnspnReluBiasGrad on wasm (direct and fallback) equals mul(dy, step(y)) and its sum on cpu, NaN and ±∞ included", async () => {
  const rand = prng(41);
  const special = [NaN, Infinity, -Infinity, 0, -0];
  const draw = (n: number, relu: boolean) =>
    Float32Array.from({ length: n }, () => {
      if (rand() < 0.08) return special[Math.floor(rand() * special.length)];
      const v = rand() * 2 - 1;
      return relu ? Math.max(v, 0) : v;
    });
  for (const shape of [[1, 3, 3, 1], [2, 5, 4, 7], [3, 6, 5, 8], [40, 37], [9], [1, 31, 31, 32]]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const dyv = draw(n, false), yv = draw(n, true);
    const axes = shape.map((_, i) => i).slice(0, -1);
    const want = await (async () => {
      await selectBackend("cpu");
      const [dy, y] = [tf.tensor(dyv, shape), tf.tensor(yv, shape)];
      const dz = tf.mul(dy, tf.step(y));
      const db = axes.length ? tf.sum(dz, axes) : dz.clone();
      const out = [await dz.data() as Float32Array, await db.data() as Float32Array];
      tf.dispose([dy, y, dz, db]);
      return out;
    })();
    for (const direct of [true, false]) {
      await selectBackend("wasm");
      setDirectKernelsEnabled(direct);
      try {
        const [dy, y] = [tf.tensor(dyv, shape), tf.tensor(yv, shape)];
        const before = tf.backend().numDataIds();
        const [dz, db] = tf.engine().runKernel(RELU_BIAS_GRAD, { dy, y }, {}) as unknown as tf.Tensor[];
        const what = `[${shape}] ${direct ? "direct" : "fallback"}`;
        assert.deepEqual(dz.shape, shape, what);
        assert.deepEqual(db.shape, [shape[shape.length - 1]], what);
        const got = [await dz.data() as Float32Array, await db.data() as Float32Array];
        // dz bit for bit (0 and −0 alike); db to float32 rounding of the float64 sum.
        for (let i = 0; i < want[0].length; i++) {
          assert.ok(Object.is(got[0][i], want[0][i]) || got[0][i] === want[0][i], `${what} dz[${i}]`);
        }
        close(got[1], want[1], `${what} db`);
        tf.dispose([dz, db]);
        assert.equal(tf.backend().numDataIds(), before, `${what}: data left on the heap`);
        tf.dispose([dy, y]);
      } finally {
        setDirectKernelsEnabled(true);
      }
    }
  }
});

/**
 * `exportOnnx` on users' tf.LayersModels, checked by ONNX Runtime against tfjs: an STN built from
 * tfjs layers and `SpatialTransformer` (every sampler option the layer has; its localisation-owning
 * form where the layer has it), a projective θ, generic tfjs layers, `tf.sequential` and nested models.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { exportOnnx, selectBackend, SpatialTransformer } from "../mod.ts";
import { compareLayersModel, maxAbs, runOrt } from "./_onnx.ts";

await selectBackend("wasm");

/** A user's STN: a localization CNN predicts θ, `SpatialTransformer` samples, a small CNN classifies. */
function userStn(options: Record<string, unknown>, thetaUnits = 6, seed = 5): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 100 + s });
  const image = tf.input({ shape: [40, 36, 1], name: "image" });
  let loc = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: "relu", kernelInitializer: init(1) })
    .apply(image) as tf.SymbolicTensor;
  loc = tf.layers.maxPooling2d({ poolSize: 2 }).apply(loc) as tf.SymbolicTensor;
  loc = tf.layers.flatten().apply(loc) as tf.SymbolicTensor;
  loc = tf.layers.dense({ units: 8, activation: "tanh", kernelInitializer: init(2) }).apply(
    loc,
  ) as tf.SymbolicTensor;
  const identity = thetaUnits === 6
    ? [0.8, 0.1, 0.05, -0.1, 0.7, -0.1]
    : [0.8, 0.1, 0.05, -0.1, 0.7, -0.1, 0.2, -0.1, 1];
  const theta = tf.layers.dense({
    units: thetaUnits,
    kernelInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed }),
    biasInitializer: tf.initializers.constant({ value: 0 }),
    weights: undefined,
    name: "theta",
  }).apply(loc) as tf.SymbolicTensor;
  const glimpse = new SpatialTransformer({ ...options, name: "glimpse" }).apply([
    image,
    theta,
  ]) as tf.SymbolicTensor;
  let x = tf.layers.conv2d({
    filters: 3,
    kernelSize: 3,
    padding: "same",
    activation: "relu",
    kernelInitializer: init(3),
  })
    .apply(glimpse) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.3 }).apply(x) as tf.SymbolicTensor;
  const probs = tf.layers.dense({
    units: 5,
    activation: "softmax",
    kernelInitializer: init(4),
    name: "probs",
  })
    .apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: image, outputs: [probs, glimpse] });
  const head = model.getLayer("theta");
  const [k] = head.getWeights();
  const b = tf.tensor1d(identity);
  head.setWeights([k, b]);
  b.dispose();
  return model;
}

/** Whether this version of the sampler layer has `options` (it throws on, or drops, options it lacks). */
function samplerHas(options: Record<string, unknown>): boolean {
  try {
    const layer = new SpatialTransformer(options);
    const kept = layer.options as Record<string, unknown>;
    return Object.entries(options).every(([key, value]) => kept[key] === value);
  } catch {
    return false;
  }
}

Deno.test("exportOnnx: a user's STN (tfjs layers + SpatialTransformer) matches tfjs for every sampler option the library has", async () => {
  const input = tf.randomUniform([3, 40, 36, 1], 0, 1, "float32", 4);
  const ran: string[] = [], skipped: string[] = [];
  for (const mode of ["bilinear", "nearest", "bicubic"]) {
    for (const paddingMode of ["border", "zeros", "reflection"]) {
      for (const alignCorners of [true, false]) {
        // "bilinear" is the default: the layer need not know the `mode` option for it.
        const options = { ...(mode === "bilinear" ? {} : { mode }), paddingMode, alignCorners };
        const label = JSON.stringify({ mode, paddingMode, alignCorners });
        if (!samplerHas(options)) {
          skipped.push(label);
          continue;
        }
        const model = userStn({ ...options, outputSize: [18, 20] });
        try {
          await compareLayersModel(model, input);
          ran.push(label);
        } finally {
          model.dispose();
        }
      }
    }
  }
  input.dispose();
  assert.ok(ran.length >= 4, `bilinear × {border, zeros} × alignCorners at least; ran ${ran.join(", ")}`);
  console.log(
    `compared ${ran.length} sampler option sets; ${skipped.length} this sampler lacks: ${skipped.join(" ")}`,
  );
});

Deno.test("exportOnnx: a projective θ (9 values) gives GridSample the grid divided by its third row", async () => {
  // With θ's last row (0, 0, 1) a projective map is the affine one; scaling all nine values changes nothing.
  const input = tf.randomUniform([2, 40, 36, 1], 0, 1, "float32", 8);
  const outputs: Float32Array[] = [];
  for (
    const [units, bias] of [
      [6, [0.8, 0.1, 0.05, -0.1, 0.7, -0.1]],
      [9, [0.8, 0.1, 0.05, -0.1, 0.7, -0.1, 0, 0, 1]],
      [9, [1.6, 0.2, 0.1, -0.2, 1.4, -0.2, 0, 0, 2]],
    ] as const
  ) {
    const image = tf.input({ shape: [40, 36, 1], name: "image" });
    const flat = tf.layers.flatten().apply(image) as tf.SymbolicTensor;
    const theta = tf.layers.dense({
      units,
      kernelInitializer: "zeros",
      biasInitializer: tf.initializers.constant({ value: 0 }),
      name: "theta",
    })
      .apply(flat) as tf.SymbolicTensor;
    const glimpse = new SpatialTransformer({ outputSize: [17, 19] }).apply([
      image,
      theta,
    ]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: image, outputs: glimpse });
    const [k] = model.getLayer("theta").getWeights();
    const b = tf.tensor1d([...bias]);
    model.getLayer("theta").setWeights([k, b]);
    b.dispose();
    const out = await runOrt(await exportOnnx(model), { image: input });
    outputs.push(out[model.outputNames[0]].data as Float32Array);
    model.dispose();
  }
  input.dispose();
  const mean = outputs[0].reduce((a, b) => a + b, 0) / outputs[0].length;
  assert.ok(outputs[0].some((v) => Math.abs(v - mean) > 0.1), "the glimpse is not constant");
  assert.ok(maxAbs(outputs[1], outputs[0]) < 1e-6, "projective with (0, 0, 1) = affine");
  assert.ok(maxAbs(outputs[2], outputs[0]) < 1e-6, "a scaled homography samples the same points");
});

Deno.test("exportOnnx: common tfjs layers convert generically (strides, same padding, pools, merges, batch norm)", async () => {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const input = tf.input({ shape: [21, 19, 2], name: "pixels" });
  const a = tf.layers.conv2d({
    filters: 5,
    kernelSize: 3,
    strides: 2,
    padding: "same",
    activation: "elu",
    kernelInitializer: init(1),
  })
    .apply(input) as tf.SymbolicTensor;
  const b = tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]] }).apply(
    tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: "same" }).apply(
      tf.layers.conv2d({
        filters: 5,
        kernelSize: 2,
        dilationRate: 1,
        useBias: false,
        kernelInitializer: init(2),
      }).apply(
        input,
      ),
    ),
  ) as tf.SymbolicTensor;
  // [11, 10, 5] both: the stride-2 "same" conv, and the valid conv → "same" average pool → padding.
  const c = tf.layers.batchNormalization({ axis: -1 }).apply(
    tf.layers.add().apply([a, b]),
  ) as tf.SymbolicTensor;
  const joined = tf.layers.concatenate().apply([c, a]) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(joined) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(
    tf.layers.maxPooling2d({ poolSize: 2, padding: "same" }).apply(joined),
  ) as tf.SymbolicTensor;
  const d = tf.layers.dense({ units: 12, activation: "relu6", kernelInitializer: init(3) }).apply(
    flat,
  ) as tf.SymbolicTensor;
  const merged = tf.layers.multiply().apply([
    tf.layers.dense({ units: 10, activation: "sigmoid", kernelInitializer: init(4) }).apply(
      pooled,
    ) as tf.SymbolicTensor,
    tf.layers.dense({ units: 10, activation: "softplus", kernelInitializer: init(5) }).apply(
      d,
    ) as tf.SymbolicTensor,
  ]) as tf.SymbolicTensor;
  const out = tf.layers.activation({ activation: "softmax", name: "scores" }).apply(
    tf.layers.reshape({ targetShape: [2, 5] }).apply(merged),
  ) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [out, joined] });
  // Batch norm with non-trivial statistics.
  const bn = model.layers.find((l) => l.getClassName() === "BatchNormalization")!;
  const stats = bn.getWeights().map((w, i) =>
    tf.randomUniform(w.shape, i === 3 ? 0.5 : -1, 2, "float32", 20 + i)
  );
  bn.setWeights(stats);
  tf.dispose(stats);
  const x = tf.randomUniform([4, 21, 19, 2], -1, 1, "float32", 9);
  try {
    await compareLayersModel(model, x);
  } finally {
    x.dispose();
    model.dispose();
  }
});

Deno.test("exportOnnx: a tf.sequential model, and a model nested in a model as a layer (shared twice)", async () => {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const seq = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [12, 12, 1],
        filters: 3,
        kernelSize: 3,
        activation: "relu",
        kernelInitializer: init(1),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, activation: "softmax", kernelInitializer: init(2) }),
    ],
  });
  const x = tf.randomUniform([3, 12, 12, 1], 0, 1, "float32", 3);
  const y = tf.randomUniform([3, 12, 12, 1], 0, 1, "float32", 4);
  try {
    await compareLayersModel(seq, x);
    // The same sub-model applied to two inputs: both applications share its weights.
    const a = tf.input({ shape: [12, 12, 1], name: "a" });
    const b = tf.input({ shape: [12, 12, 1], name: "b" });
    const both = tf.layers.add().apply([
      seq.apply(a) as tf.SymbolicTensor,
      seq.apply(b) as tf.SymbolicTensor,
    ]);
    const outer = tf.model({ inputs: [a, b], outputs: both as tf.SymbolicTensor });
    const out = await runOrt(await exportOnnx(outer), { a: x, b: y });
    const expected = outer.predict([x, y]) as tf.Tensor;
    assert.ok(maxAbs(out[outer.outputNames[0]].data as Float32Array, expected.dataSync()) <= 1e-5);
    expected.dispose();
  } finally {
    tf.dispose([x, y]);
    seq.dispose();
  }
});

Deno.test("exportOnnx: a SpatialTransformer that owns its localisation network (where the layer has that form)", async (t) => {
  // The layer gains a `localization` field with that form; without it there is nothing to export here.
  if (!("localization" in new SpatialTransformer({}))) {
    await t.step({
      name: "skipped: this SpatialTransformer has no localization form",
      ignore: true,
      fn: () => {},
    });
    return;
  }
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential({
    layers: [
      new SpatialTransformer(
        {
          inputShape: [40, 36, 1],
          outputSize: [18, 20],
          localization: [
            tf.layers.maxPooling2d({ poolSize: 2 }),
            tf.layers.flatten(),
            tf.layers.dense({ units: 8, activation: "tanh", kernelInitializer: init(1) }),
            tf.layers.dense({
              units: 6,
              kernelInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: 2 }),
              biasInitializer: tf.initializers.constant({ value: 0.4 }),
            }),
          ],
        } as ConstructorParameters<typeof SpatialTransformer>[0],
      ),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, activation: "softmax", kernelInitializer: init(3) }),
    ],
  });
  const x = tf.randomUniform([3, 40, 36, 1], 0, 1, "float32", 6);
  try {
    await compareLayersModel(model, x);
  } finally {
    x.dispose();
    model.dispose();
  }
});

/**
 * `exportOnnx` checked by ONNX Runtime (onnxruntime-web's WASM backend, running in Deno): the
 * pretrained RNN-SPN on cluttered-MNIST test sequences, the three kinds at small random configs, a
 * user's STN built from tfjs layers and `SpatialTransformer` (every GridSample option), and the errors.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import * as ort from "onnxruntime-web";
import { tf } from "../src/tf.ts";
import {
  type AnyModel,
  ClutteredMnist,
  exportOnnx,
  loadMnist,
  loadPretrained,
  selectBackend,
  type SequenceModel,
  spatialTransform,
  SpatialTransformer,
  type SpatialTransformOptions,
} from "../mod.ts";
import { OnnxGraph } from "../src/export/onnx_graph.ts";
import { sample } from "../src/export/onnx_sampler.ts";
import { tinyModel } from "./_models.ts";
import { runExample } from "./_example.ts";

await selectBackend("wasm");
// One thread: no Worker, and CPU for the other tests.
ort.env.wasm.numThreads = 1;

/** Runs `bytes` under ORT on `feeds` (name → float32 tensor). */
async function runOrt(
  bytes: Uint8Array,
  feeds: Record<string, tf.Tensor> | tf.Tensor[],
): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  const inputs: Record<string, ort.Tensor> = {};
  // An array feeds the graph's inputs in order.
  const named = Array.isArray(feeds)
    ? Object.fromEntries(feeds.map((t, i) => [session.inputNames[i], t]))
    : feeds;
  for (const [name, t] of Object.entries(named)) {
    inputs[name] = new ort.Tensor("float32", t.dataSync() as Float32Array, t.shape);
  }
  const out = await session.run(inputs);
  await session.release();
  return out;
}

/** Largest |a − b| relative to max(1, max |b|) (the suite's scale: logits reach ±30). */
function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "lengths");
  let m = 0, scale = 1;
  for (let i = 0; i < a.length; i++) {
    (m = Math.max(m, Math.abs(a[i] - b[i])), scale = Math.max(scale, Math.abs(b[i])));
  }
  return m / scale;
}

/** Exports `model`, runs it on `images` under ORT and the library, and compares every output. */
async function compareSequenceModel(model: SequenceModel<object>, images: tf.Tensor4D, tol: number) {
  const bytes = await exportOnnx(model);
  const out = await runOrt(bytes, { images });
  const p = model.predict(images);
  try {
    const errors = {
      logits: maxAbs(out.logits.data as Float32Array, p.logits.dataSync()),
      probabilities: maxAbs(out.probabilities.data as Float32Array, p.probabilities.dataSync()),
      theta: p.theta ? maxAbs(out.theta.data as Float32Array, p.theta.dataSync()) : 0,
    };
    assert.deepEqual(out.logits.dims, p.logits.shape);
    assert.equal(out.digits.type, "int64");
    assert.deepEqual(Array.from(out.digits.data as BigInt64Array, Number), Array.from(p.digits.dataSync()));
    if (p.theta) assert.deepEqual(out.theta.dims, p.theta.shape);
    else assert.equal(out.theta, undefined);
    for (const [name, err] of Object.entries(errors)) {
      assert.ok(err <= tol, `${name}: max |ORT − library| ${err}`);
    }
    return errors;
  } finally {
    tf.dispose([p.logits, p.probabilities, p.digits, p.theta!].filter(Boolean));
  }
}

Deno.test("exportOnnx: the pretrained RNN-SPN under ORT matches the library on 64 test sequences (1e-4, same digits)", async () => {
  const model = await loadPretrained();
  const mnist = await loadMnist({ dir: Deno.env.get("MNIST_DIR") ?? "../shared/mnist" });
  const data = new ClutteredMnist(mnist, { seed: 1 });
  const { images, labels } = data.batch("test", Array.from({ length: 64 }, (_, i) => i));
  try {
    const errors = await compareSequenceModel(model, images, 1e-4);
    console.log("pretrained max |ORT − library|:", errors);
  } finally {
    tf.dispose([images, labels]);
    model.dispose();
  }
});

for (const kind of ["rnn-spn", "spn", "cnn"] as const) {
  Deno.test(`exportOnnx: a small random ${kind} under ORT matches the library`, async () => {
    const model: AnyModel = tinyModel(kind, 7);
    // Random weights give θ far from the identity: set the θ head to random values too.
    const head = model.model.layers.find((l) => l.name === "loc_theta");
    if (head) {
      const [k, b] = head.getWeights();
      const kr = tf.randomNormal(k.shape, 0, 0.2, "float32", 1),
        br = tf.add(b, tf.randomNormal(b.shape, 0, 0.2, "float32", 2));
      head.setWeights([kr, br]);
      tf.dispose([kr, br]);
    }
    const images = tf.randomUniform([5, 100, 100, 1], 0, 1, "float32", 11) as tf.Tensor4D;
    try {
      await compareSequenceModel(model, images, 1e-4);
    } finally {
      images.dispose();
      model.dispose();
    }
  });
}

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

/** Compares a LayersModel's outputs under ORT and tfjs on `input`. */
async function compareLayersModel(model: tf.LayersModel, input: tf.Tensor, tol = 1e-4): Promise<number[]> {
  const bytes = await exportOnnx(model);
  const out = await runOrt(bytes, [input]);
  const expected = [model.predict(input)].flat() as tf.Tensor[];
  try {
    assert.equal(Object.keys(out).length, expected.length);
    return Object.keys(out).map((name, i) => {
      assert.deepEqual(out[name].dims, expected[i].shape, `${name} shape`);
      const err = maxAbs(out[name].data as Float32Array, expected[i].dataSync());
      assert.ok(err <= tol, `${name}: max |ORT − library| ${err}`);
      return err;
    });
  } finally {
    tf.dispose(expected);
  }
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

Deno.test("exportOnnx: bad inputs fail naming what is wrong", async () => {
  await assert.rejects(
    () => exportOnnx(null as unknown as tf.LayersModel),
    /exportOnnx: model must be a RecurrentAttention, SpnBaseline, CnnBaseline or tf.LayersModel; got null/,
  );
  await assert.rejects(
    () => exportOnnx({ predict() {} } as unknown as tf.LayersModel),
    /model must be .* got Object/,
  );
  const image = tf.input({ shape: [8, 8, 1], name: "image" });
  const up = tf.layers.upSampling2d({ size: [2, 2], name: "up" }).apply(image) as tf.SymbolicTensor;
  const model = tf.model({ inputs: image, outputs: up });
  await assert.rejects(
    () => exportOnnx(model),
    /exportOnnx: layer "up" \(UpSampling2D\): no ONNX converter for this layer class; supported: .*Conv2D.*RnnspnGlimpses/,
  );
  const free = tf.input({ shape: [null, 8, 1], name: "free" });
  const flat = tf.layers.dense({ units: 2 }).apply(free) as tf.SymbolicTensor;
  await assert.rejects(
    () => exportOnnx(tf.model({ inputs: free, outputs: flat })),
    /exportOnnx: input free has an unknown size after the batch axis \(\[null,null,8,1\]\)/,
  );
  const gelu = tf.layers.dense({ units: 2, activation: "gelu", name: "g" }).apply(
    tf.layers.flatten().apply(image),
  );
  await assert.rejects(
    () => exportOnnx(tf.model({ inputs: image, outputs: gelu as tf.SymbolicTensor })),
    /exportOnnx: activation "gelu" \(at g\) has no ONNX mapping/,
  );
  model.dispose();
});

Deno.test("examples/export_onnx.ts: bad arguments are one line, exit 2; pretrained --check 8 agrees", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The script runs in the temporary folder: MNIST_DIR made absolute.
    const env = { MNIST_DIR: resolve(Deno.env.get("MNIST_DIR") ?? "../shared/mnist") };
    for (
      const [args, message] of [
        [["pretrained"], "expected DIR|pretrained and OUT.onnx; got 1 arguments"],
        [["pretrained", "out.txt"], 'OUT must be a file name ending in .onnx; got "out.txt"'],
        [["no-such-dir", "a.onnx"], "no-such-dir is neither a model directory"],
        [["pretrained", "missing/a.onnx"], "OUT's folder missing does not exist"],
        [["pretrained", "a.onnx", "--check", "x"], '--check must be an integer >= 0; got "x"'],
      ] as const
    ) {
      const { code, stderr } = await runExample("export_onnx.ts", [...args], dir, env);
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
      assert.ok(stderr.startsWith(`export_onnx.ts: ${message}`), stderr);
    }
    const { code, stdout, stderr } = await runExample(
      "export_onnx.ts",
      ["pretrained", "m.onnx", "--check", "8"],
      dir,
      env,
    );
    assert.equal(code, 0, stderr);
    assert.match(stdout, /check on 8 test sequences: max \|Δ probability\| .*, digits equal 24\/24/);
    assert.ok((await Deno.stat(`${dir}/m.onnx`)).size > 1e6);
  } finally {
    await Deno.remove(dir, { recursive: true });
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

/** Whether `spatialTransform` honours `options` (it throws on options it lacks, or ignores an unknown `mode`). */
function opHas(options: Record<string, unknown>, params: 6 | 9): boolean {
  const probe = tf.tensor4d([0, 1, 4, 9, 16, 25, 36, 49, 64], [1, 3, 3, 1]);
  const theta = tf.tensor2d(
    params === 6 ? [[0.9, 0.1, 0.13, -0.1, 0.8, 0.07]] : [[0.9, 0.1, 0.13, -0.1, 0.8, 0.07, 0, 0, 1]],
  );
  try {
    const out = spatialTransform(probe, theta, options as SpatialTransformOptions);
    const bilinear = spatialTransform(
      probe,
      theta,
      { ...options, mode: undefined } as SpatialTransformOptions,
    );
    const same = maxAbs(out.dataSync(), bilinear.dataSync()) === 0;
    tf.dispose([out, bilinear]);
    return !(options.mode !== undefined && options.mode !== "bilinear" && same);
  } catch {
    return false;
  } finally {
    tf.dispose([probe, theta]);
  }
}

Deno.test("exportOnnx's sampler graph (grid MatMul + GridSample, k = 2 glimpses per image) equals spatialTransform for every mode, padding and θ kind the op has", async () => {
  const [n, k, h, w, c, oh, ow] = [2, 2, 13, 11, 3, 9, 10];
  const image = tf.randomUniform([n, h, w, c], -1, 1, "float32", 31) as tf.Tensor4D;
  const ran: string[] = [], skipped: string[] = [];
  for (const params of [6, 9] as const) {
    // Rotation, zoom, shift, a little perspective; some samples fall outside the image.
    const rows = Array.from({ length: n * k }, (_, m) => {
      const a = 0.3 * m - 0.4, s = 1.1 - 0.15 * m;
      const affine = [
        s * Math.cos(a),
        -s * Math.sin(a),
        0.2 - 0.1 * m,
        s * Math.sin(a),
        s * Math.cos(a),
        0.1 * m - 0.15,
      ];
      return params === 6 ? affine : [...affine, 0.2 - 0.1 * m, 0.1, 1 + 0.05 * m];
    });
    const theta = tf.tensor2d(rows);
    for (const mode of ["bilinear", "nearest", "bicubic"]) {
      for (const paddingMode of ["zeros", "border", "reflection"]) {
        for (const alignCorners of [true, false]) {
          const options = {
            outputSize: [oh, ow],
            alignCorners,
            paddingMode,
            ...(mode === "bilinear" ? {} : { mode }),
          };
          const label = `${mode}/${paddingMode}/${alignCorners ? "align" : "noalign"}/${params}`;
          if (!opHas(options, params)) {
            skipped.push(label);
            continue;
          }
          const graph = new OnnxGraph();
          graph.reserve(["image", "theta", "out"]);
          const x = graph.input("image", [null, h, w, c]);
          const t = graph.input("theta", [null, params]);
          const attrs = { outHeight: oh, outWidth: ow, alignCorners, paddingMode, mode };
          graph.output("out", sample(graph, x, t, params, null, attrs, "sampler", [null, oh, ow, c]));
          const out = await runOrt(graph.encode("sampler", label), { image, theta });
          const expected = spatialTransform(image, theta as tf.Tensor2D, options as SpatialTransformOptions);
          const err = maxAbs(out.out.data as Float32Array, expected.dataSync());
          expected.dispose();
          assert.ok(err <= 1e-4, `${label}: max |ORT − library| ${err}`);
          ran.push(label);
        }
      }
    }
    theta.dispose();
  }
  image.dispose();
  assert.ok(
    ran.length >= 4,
    `bilinear × {zeros, border} × alignCorners (affine) at least; ran ${ran.join(" ")}`,
  );
  console.log(`compared ${ran.length} sampler configurations; ${skipped.length} the op lacks`);
});

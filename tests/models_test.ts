import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import {
  CnnBaseline,
  createModel,
  RecurrentAttention,
  selectBackend,
  sequenceLoss,
  SpnBaseline,
} from "../mod.ts";
import { gradientsOf } from "../src/train/step.ts";
import { BACKENDS, WEBGPU_AVAILABLE } from "./_backends.ts";
import { TINY, tinyModel, weightArrays } from "./_models.ts";
import { RECURRENT_ATTENTION } from "../src/models/recurrent_attention.ts";
import { SPN_BASELINE } from "../src/models/spn_baseline.ts";
import { CNN_BASELINE } from "../src/models/cnn_baseline.ts";

await selectBackend("cpu");

// Parameter counts from the paper's spec, layer by layer (3×3 convs, 2×2 pools, valid padding).
const conv = (cin: number, cout: number) => 9 * cin * cout + cout;
const dense = (nin: number, nout: number) => nin * nout + nout;
// tfjs's GRU (no reset_after): kernel [in, 3u], recurrent kernel [u, 3u], one bias [3u].
const gru = (nin: number, u: number) => 3 * (nin * u + u * u + u);
/** Side after `items` (number = conv, "p" = pool) on a square input of `side`. */
function side(s: number, items: (number | "p")[]): number {
  for (const it of items) s = it === "p" ? Math.floor(s / 2) : s - 2;
  return s;
}
const LOC = ["p", 1, "p", 1, "p", 1] as (number | "p")[];
const CLS = [1, "p", 1, "p", 1] as (number | "p")[];

function expectedRnnSpn(ds: number, steps = 3): number {
  const locSide = side(100, LOC); // 9
  const feat = locSide * locSide * 20; // 1620
  const glimpse = Math.floor(100 / ds);
  const clsSide = side(glimpse, CLS);
  void steps; // steps share every weight
  return conv(1, 20) + 2 * conv(20, 20) + gru(feat, 256) + dense(256, 6) +
    conv(1, 32) + 2 * conv(32, 32) + dense(clsSide * clsSide * 32, 400) + dense(400, 10);
}

function expectedBaselineClassifier(input: number, digits = 3): number {
  const s = side(input, CLS);
  return conv(1, 96) + 2 * conv(96, 96) + dense(s * s * 96, 400) + digits * dense(400, 10);
}

Deno.test("RNN-SPN parameter count matches the spec (≈1.68 M at downsample 3) and other factors", () => {
  const expected = expectedRnnSpn(3);
  assert.equal(expected, 7440 + 1441536 + 1542 + 228026); // the hand count in the README
  assert.ok(Math.abs(expected - 1.68e6) < 0.01e6);
  const model = new RecurrentAttention();
  assert.equal(model.countParams(), expected);
  model.dispose();
  for (const ds of [1, 2, 4]) {
    const m = new RecurrentAttention({ downsampleFactor: ds });
    assert.equal(m.countParams(), expectedRnnSpn(ds), `downsample ${ds}`);
    m.dispose();
  }
});

Deno.test("CNN-SPN and CNN parameter counts match the spec", () => {
  const spn = new SpnBaseline();
  const loc = conv(1, 20) + 2 * conv(20, 20) + dense(1620, 200) + dense(200, 6);
  assert.equal(spn.countParams(), loc + expectedBaselineClassifier(33));
  spn.dispose();
  const cnn = new CnnBaseline();
  assert.equal(cnn.countParams(), expectedBaselineClassifier(100));
  cnn.dispose();
});

Deno.test("output shapes, probabilities and digits of the three models; steps/digits configurable", () => {
  const images = tf.randomUniform([2, 100, 100, 1], 0, 1, "float32", 1) as tf.Tensor4D;
  for (const [kind, steps, thetaSteps] of [["rnn-spn", 4, 4], ["spn", 2, 1], ["cnn", 5, 0]] as const) {
    const config = kind === "rnn-spn" ? { ...TINY[kind], steps } : { ...TINY[kind], digits: steps };
    const model = createModel(kind, config);
    assert.equal(model.steps, steps);
    const p = model.predict(images);
    assert.deepEqual(p.logits.shape, [2, steps, 10], kind);
    assert.deepEqual(p.probabilities.shape, [2, steps, 10], kind);
    assert.deepEqual(p.digits.shape, [2, steps], kind);
    assert.equal(p.digits.dtype, "int32");
    if (thetaSteps) assert.deepEqual(p.theta!.shape, [2, thetaSteps, 2, 3], kind);
    else assert.equal(p.theta, undefined);
    const sums = tf.sum(p.probabilities, -1).dataSync();
    for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5);
    const argmax = tf.argMax(p.logits, -1).dataSync();
    assert.deepEqual([...p.digits.dataSync()], [...argmax]);
    tf.dispose([p.logits, p.probabilities, p.digits, p.theta ?? []]);
    model.dispose();
  }
  images.dispose();
});

Deno.test("identity init: every θ of a fresh RNN-SPN and CNN-SPN is the identity, for any input", () => {
  const images = tf.randomUniform([3, 100, 100, 1], 0, 1, "float32", 2) as tf.Tensor4D;
  for (const model of [new RecurrentAttention(), new SpnBaseline({ classifierFilters: 8 })]) {
    const { theta, logits } = model.forward(images);
    const values = theta!.dataSync();
    const identity = [1, 0, 0, 0, 1, 0];
    for (let i = 0; i < values.length; i++) assert.equal(values[i], identity[i % 6], `${model.kind} θ[${i}]`);
    tf.dispose([theta!, logits]);
    model.dispose();
  }
  images.dispose();
});

Deno.test("same seed → same weights; different seed → different weights", () => {
  const a = weightArrays(tinyModel("rnn-spn", 5));
  const b = weightArrays(tinyModel("rnn-spn", 5));
  const c = weightArrays(tinyModel("rnn-spn", 6));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("bad input and bad config give errors naming the argument", () => {
  const model = tinyModel("rnn-spn");
  const wrong = tf.zeros([2, 64, 64, 1]) as tf.Tensor4D;
  assert.throws(() => model.predict(wrong), /images must be float32 \[B, 100, 100, 1\]; got \[2,64,64,1\]/);
  wrong.dispose();
  model.dispose();
  assert.throws(() => new RecurrentAttention({ steps: 0 }), /steps must be an integer in \[1, 64\]; got 0/);
  assert.throws(() => new SpnBaseline({ dropout: 1.5 }), /dropout must be in \[0, 1\); got 1.5/);
  assert.throws(() => new RecurrentAttention({ downsampleFactor: -1 }), /downsampleFactor/);
  assert.throws(() => createModel("foo" as "cnn"), /kind must be one of rnn-spn, spn, cnn; got "foo"/);
});

Deno.test("paramCount(config) equals the built model's countParams, for every kind and odd sizes", () => {
  const odd = { inputSize: [71, 67], classifierFilters: 5, denseUnits: 7, classes: 4, dropout: 0.1 };
  const cases = [
    [RECURRENT_ATTENTION, {
      ...odd,
      steps: 2,
      downsampleFactor: 2,
      locFilters: 3,
      gruUnits: 5,
      gruResetAfter: true,
    }],
    [SPN_BASELINE, { ...odd, digits: 2, downsampleFactor: 1.7, locFilters: 3, locDenseUnits: 9 }],
    [CNN_BASELINE, { ...odd, digits: 4 }],
  ] as const;
  for (const [factory, config] of cases) {
    for (const c of [{}, config as Record<string, unknown>]) {
      const model = factory.create(c);
      assert.equal(factory.paramCount(c), model.countParams(), `${factory.kind} ${JSON.stringify(c)}`);
      model.dispose();
    }
  }
});

Deno.test("configs past the size limits fail at once, naming the field and the limit (nothing built)", () => {
  const before = tf.memory().numBytes;
  assert.throws(
    () => new RecurrentAttention({ gruUnits: 1e7 }),
    /gruUnits must be an integer in \[1, 8192\]; got 10000000/,
  );
  assert.throws(
    () => new RecurrentAttention({ steps: 1e8 }),
    /steps must be an integer in \[1, 64\]; got 100000000/,
  );
  assert.throws(
    () => new CnnBaseline({ inputSize: [40000, 40000] }),
    /inputSize\[0\] must be an integer in \[1, 4096\]/,
  );
  assert.throws(
    () => new SpnBaseline({ classifierFilters: 5000 }),
    /classifierFilters must be an integer in \[1, 1024\]/,
  );
  // Each field within its limit, the whole too big: the parameter count is bounded before building.
  assert.throws(
    () => new RecurrentAttention({ gruUnits: 8192, inputSize: [4096, 4096] }),
    /this config has \d+ parameters, more than the 67108864 a model may have/,
  );
  assert.equal(tf.memory().numBytes, before);
});

// One training step's loss and gradients agree across backends (the same weights copied everywhere).
async function lossAndGrads(backend: string, kind: "rnn-spn" | "spn" | "cnn") {
  await selectBackend(backend as "cpu");
  const model = tinyModel(kind, 11);
  if (kind !== "cnn") {
    // θ's zero-weight init stops every gradient to the localization net at step 1; nudge it so they flow.
    const head = model.model.getLayer("loc_theta");
    const [kernel, bias] = head.getWeights();
    const nudged = tf.randomNormal(kernel.shape, 0, 0.05, "float32", 9);
    head.setWeights([nudged, bias]);
    nudged.dispose(); // (kernel and bias are the layer's own variables)
  }
  // Positive biases keep every ReLU input away from 0: a pre-activation that rounds to +1e-7 on one backend
  // and -1e-7 on another flips a max-pool argmax, a real discontinuity that correct backends disagree on.
  for (const layer of model.model.layers) {
    if (!/_conv\d|_dense$/.test(layer.name)) continue;
    const [kernel, bias] = layer.getWeights();
    const shifted = tf.fill(bias.shape, 2);
    layer.setWeights([kernel, shifted]);
    shifted.dispose();
  }
  const images = tf.tidy(() => {
    // A bright 28×28 block somewhere in each image, so that the gradient through θ is not zero.
    const base = tf.randomUniform([2, 100, 100, 1], 0, 0.2, "float32", 4);
    return tf.pad(tf.ones([2, 28, 28, 1]), [[0, 0], [30, 42], [20, 52], [0, 0]]).add(base) as tf.Tensor4D;
  });
  const labels = tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], "int32");
  const { loss, grads } = gradientsOf(model, images, labels);
  const out = {
    loss: (await loss.data())[0],
    grads: await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>)),
  };
  tf.dispose([loss, ...grads, images, labels]);
  model.dispose();
  return out;
}

Deno.test({
  name: `one training step gives the same loss and gradients on ${BACKENDS.join(", ")}`,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    if (!WEBGPU_AVAILABLE) console.warn("(webgpu skipped: no adapter)");
    for (const kind of ["rnn-spn", "spn", "cnn"] as const) {
      const ref = await lossAndGrads("cpu", kind);
      assert.ok(Number.isFinite(ref.loss));
      // Every variable gets a gradient (θ's included), so the comparison below is not vacuous.
      ref.grads.forEach((g, i) => assert.ok(g.some((v) => v !== 0), `${kind}: gradient ${i} is all zero`));
      for (const backend of BACKENDS.filter((b) => b !== "cpu")) {
        const got = await lossAndGrads(backend, kind);
        assert.ok(
          Math.abs(got.loss - ref.loss) <= 1e-4 * Math.max(1, Math.abs(ref.loss)),
          `${kind} ${backend} loss`,
        );
        for (let i = 0; i < ref.grads.length; i++) {
          // Relative L2 error per variable.
          let diff = 0, norm = 0;
          for (let j = 0; j < ref.grads[i].length; j++) {
            diff += (got.grads[i][j] - ref.grads[i][j]) ** 2;
            norm += ref.grads[i][j] ** 2;
          }
          const rel = Math.sqrt(diff / norm);
          assert.ok(rel <= 1e-4, `${kind} ${backend} gradient ${i}: relative L2 error ${rel}`);
        }
      }
    }
    await selectBackend("cpu");
  },
});

Deno.test("sequenceLoss is the mean cross-entropy over every digit", () => {
  const logits = tf.tensor3d([[[0, 0], [2, 0]]]);
  const labels = tf.tensor2d([[0, 1]], [1, 2], "int32");
  const loss = sequenceLoss(logits, labels).dataSync()[0];
  const expected = (Math.log(2) + (Math.log(Math.exp(2) + 1) - 0)) / 2;
  assert.ok(Math.abs(loss - expected) < 1e-6);
  assert.throws(
    () => sequenceLoss(logits, tf.zeros([1, 3], "int32")),
    /logits must be \[B, S, C\] and labels \[B, S\]/,
  );
  tf.dispose([logits, labels]);
});

/**
 * `exportOnnx` checked by ONNX Runtime (onnxruntime-web's WASM backend, running in Deno): the
 * pretrained RNN-SPN on cluttered-MNIST test sequences, the three kinds at small random configs, a
 * user's STN built from tfjs layers and `SpatialTransformer` (every GridSample option), and the errors.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import { tf } from "../src/tf.ts";
import {
  type AnyModel,
  ClutteredMnist,
  exportOnnx,
  loadMnist,
  loadPretrained,
  type SequenceModel,
  selectBackend,
  SpatialTransformer,
} from "../mod.ts";
import { tinyModel } from "./_models.ts";
import { Glimpses } from "../src/layers/glimpses.ts";

await selectBackend("wasm");
// One thread: no Worker, and CPU for the other tests.
ort.env.wasm.numThreads = 1;

/** Runs `bytes` under ORT on `feeds` (name → float32 tensor). */
async function runOrt(bytes: Uint8Array, feeds: Record<string, tf.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  const inputs: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) {
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
  for (let i = 0; i < a.length; i++) (m = Math.max(m, Math.abs(a[i] - b[i])), scale = Math.max(scale, Math.abs(b[i])));
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
    for (const [name, err] of Object.entries(errors)) assert.ok(err <= tol, `${name}: max |ORT − library| ${err}`);
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
      const kr = tf.randomNormal(k.shape, 0, 0.01, "float32", 1), br = tf.add(b, tf.randomNormal(b.shape, 0, 0.2, "float32", 2));
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

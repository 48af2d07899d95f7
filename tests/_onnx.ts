/** ONNX Runtime (onnxruntime-web, WASM backend, one thread) for the exporter's tests, and comparisons. */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import { tf } from "../src/tf.ts";
import { exportOnnx } from "../mod.ts";

// One thread: no Worker, and CPU left for the other tests.
ort.env.wasm.numThreads = 1;

export { ort };

/** Runs `bytes` under ORT on `feeds` (name → float32 tensor). */
export async function runOrt(
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
export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "lengths");
  let m = 0, scale = 1;
  for (let i = 0; i < a.length; i++) {
    (m = Math.max(m, Math.abs(a[i] - b[i])), scale = Math.max(scale, Math.abs(b[i])));
  }
  return m / scale;
}

/** Compares a LayersModel's outputs under ORT and tfjs on `input`. */
export async function compareLayersModel(
  model: tf.LayersModel,
  input: tf.Tensor,
  tol = 1e-4,
): Promise<number[]> {
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

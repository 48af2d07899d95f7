/**
 * Worker for `bench/data_parallel_probe.ts`: one tfjs instance (wasm) training the paper's
 * classifier CNN on its share of the batch. Gradients are read back to JS every step, as a real
 * SharedArrayBuffer exchange would have to, but not summed: this bounds the speed-up from above.
 *
 * @module
 */
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";

interface Scope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as Scope;

function classifier(): tf.Sequential {
  const conv = (inputShape?: number[]) =>
    tf.layers.conv2d({
      filters: 32,
      kernelSize: 3,
      activation: "relu",
      ...(inputShape ? { inputShape } : {}),
    });
  return tf.sequential({
    layers: [
      conv([33, 33, 1]),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(),
      tf.layers.flatten(),
      tf.layers.dense({ units: 400, activation: "relu" }),
      tf.layers.dense({ units: 10 }),
    ],
  });
}

scope.onmessage = async (e: MessageEvent) => {
  const { batch, steps } = e.data as { batch: number; steps: number };
  await selectBackend("wasm");
  const model = classifier();
  const x = tf.randomUniform([batch, 33, 33, 1], 0, 1, "float32", 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, "int32", 2), 10);
  const opt = tf.train.rmsprop(5e-4, 0.9, 0, 1e-6);
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() =>
        tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar
      );
      for (const name in grads) grads[name].dataSync();
      opt.applyGradients(grads);
      return value;
    });
  step().dispose(); // warm-up: XNNPACK operators, arena
  scope.postMessage("ready");
  scope.onmessage = () => {
    const start = performance.now();
    for (let i = 0; i < steps; i++) step().dataSync();
    scope.postMessage(performance.now() - start);
  };
};

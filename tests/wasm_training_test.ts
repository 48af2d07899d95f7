/**
 * A conv net trains on the wasm backend end to end (the paper's recipe: RMSprop, gradients clipped
 * elementwise to ±1 then to global norm 5), and a long run leaks neither tensors nor memory in our
 * kernels module.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { wasmKernels } from "../src/kernels/wasm/module.ts";
import { prng } from "./_random.ts";

/** conv 3×3 valid + relu → pool → conv 3×3 valid + relu → pool → conv 3×3 valid + relu → dense. */
function convNet(size: number, width: number): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const input = tf.input({ shape: [size, size, 1] });
  let h = input;
  for (let i = 0; i < 3; i++) {
    h = tf.layers.conv2d({
      filters: width,
      kernelSize: 3,
      padding: "valid",
      activation: "relu",
      kernelInitializer: init(i + 1),
    }).apply(h) as tf.SymbolicTensor;
    if (i < 2) h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
  }
  const flat = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 10, kernelInitializer: init(9) }).apply(flat) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

/** One RMSprop step with the paper's clipping; returns the loss (a scalar the caller disposes). */
function step(model: tf.LayersModel, opt: tf.Optimizer, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() =>
      tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar
    );
    const names = Object.keys(grads);
    const clipped = names.map((n) => tf.clipByValue(grads[n], -1, 1));
    const norm = tf.sqrt(tf.addN(clipped.map((g) => tf.sum(tf.square(g)))));
    const scale = tf.minimum(1, tf.div(5, tf.maximum(norm, 1e-12)));
    const scaled: tf.NamedTensorMap = {};
    names.forEach((n, i) => scaled[n] = tf.mul(clipped[i], scale));
    opt.applyGradients(scaled);
    return value;
  });
}

function batch(rand: () => number, n: number, size: number): { x: tf.Tensor; y: tf.Tensor } {
  const pixels = new Float32Array(n * size * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rand();
  const labels = Array.from({ length: n }, () => Math.floor(rand() * 10));
  return {
    x: tf.tensor4d(pixels, [n, size, size, 1]),
    y: tf.oneHot(tf.tensor1d(labels, "int32"), 10).toFloat(),
  };
}

/** 20 steps of the conv net on a fixed batch; returns the loss before each step. */
async function train20(backend: "cpu" | "wasm"): Promise<number[]> {
  await selectBackend(backend);
  const model = convNet(28, 8);
  const opt = tf.train.rmsprop(1e-2, 0.9, 0, 1e-6);
  const { x, y } = batch(prng(1), 16, 28);
  const losses: number[] = [];
  for (let i = 0; i < 20; i++) {
    const loss = step(model, opt, x, y);
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  tf.dispose([x, y]);
  model.dispose();
  opt.dispose();
  return losses;
}

Deno.test("a 3-layer conv net trains on wasm: loss falls over 20 steps on a fixed batch, as on cpu", async () => {
  const wasm = await train20("wasm");
  console.log(`  wasm loss ${wasm[0].toFixed(3)} → ${wasm[19].toFixed(3)}`);
  assert.ok(wasm.every(Number.isFinite), `non-finite loss: ${wasm}`);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(wasm[19] < 0.8 * wasm[0], `loss did not fall: ${wasm.map((l) => l.toFixed(3))}`);
  assert.ok(mean(wasm.slice(15)) < mean(wasm.slice(0, 5)), `loss did not fall: ${wasm}`);
  // Same initial weights and data on cpu: the curves agree up to float summation order.
  const cpu = await train20("cpu");
  wasm.forEach((l, i) => {
    assert.ok(Math.abs(l - cpu[i]) <= 1e-3 * Math.abs(cpu[i]), `step ${i}: wasm loss ${l} vs cpu ${cpu[i]}`);
  });
});

Deno.test("200 training steps on wasm: tensor count and our kernels' memory stay flat", async () => {
  await selectBackend("wasm");
  const model = convNet(20, 4);
  const opt = tf.train.rmsprop(1e-3, 0.9, 0, 1e-6);
  const { x, y } = batch(prng(2), 4, 20);
  const memory = () => wasmKernels().memory.buffer.byteLength;
  let tensors = 0;
  let bytes = 0;
  for (let i = 0; i < 200; i++) {
    step(model, opt, x, y).dispose();
    // After a few steps every buffer (optimizer slots, our arena) has its final size.
    if (i === 9) {
      tensors = tf.memory().numTensors;
      bytes = memory();
    }
  }
  assert.equal(tf.memory().numTensors, tensors, "tensors leaked between step 10 and step 200");
  assert.equal(memory(), bytes, "our wasm module's memory grew between step 10 and step 200");
  tf.dispose([x, y]);
  model.dispose();
  opt.dispose();
});

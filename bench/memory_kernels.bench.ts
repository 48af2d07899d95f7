/**
 * The memory-bound kernels of a training step on wasm, at the RNN-SPN's largest activation
 * `[300, 31, 31, 32]`: `MaxPoolGrad` (2×2 / 2), `Sum` over B, H, W (a bias gradient) and
 * `RnnspnReluBiasGrad` (a ReLU layer's dz and bias gradient), each run on tfjs's heap by our direct
 * kernels (`src/kernels/wasm/direct.ts`) and by the fallback that copies through our module's memory
 * (or, for `RnnspnReluBiasGrad`, tfjs's `Step`, `Multiply` and `Sum`).
 *
 *   deno bench -A bench/memory_kernels.bench.ts
 *
 * Each touches 37 MB per pass over the activation; the floor is the passes × 37 MB / bandwidth.
 */
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { RELU_BIAS_GRAD } from "../src/kernels/conv2d_bias_relu_spec.ts";
import { setDirectKernelsEnabled } from "../src/kernels/wasm/direct.ts";
import { ignoreBackend, noteSkipped } from "./_permissions.ts";

// Without read access to tfjs's .wasm files these benches are registered as ignored (on cpu).
const ignore = ignoreBackend("wasm");
if (ignore) noteSkipped("wasm benches");
await selectBackend(ignore ? "cpu" : "wasm");
const SHAPE: [number, number, number, number] = ignore ? [1, 2, 2, 1] : [300, 31, 31, 32];
const x = tf.randomNormal(SHAPE, 0, 1, "float32", 1) as tf.Tensor4D;
const y = tf.relu(x);
const dy = tf.randomNormal(SHAPE, 0, 1, "float32", 2);
const dyPool = tf.randomNormal(ignore ? [1, 1, 1, 1] : [300, 15, 15, 32], 0, 1, "float32", 3);
const pooled = tf.maxPool(x, 2, 2, "valid");

const kernels: Record<string, () => tf.Tensor | tf.Tensor[]> = {
  MaxPoolGrad: () =>
    tf.engine().runKernel(tf.MaxPoolGrad, { dy: dyPool, input: x, output: pooled }, {
      filterSize: 2,
      strides: 2,
      pad: "valid",
    }) as tf.Tensor,
  Sum: () => tf.sum(dy, [0, 1, 2]),
  RnnspnReluBiasGrad: () => tf.engine().runKernel(RELU_BIAS_GRAD, { dy, y }, {}) as unknown as tf.Tensor[],
};

for (const [name, run] of Object.entries(kernels)) {
  for (const direct of [true, false]) {
    Deno.bench({
      name: `${name} [${SHAPE}] ${direct ? "on tfjs's heap" : "fallback"}`,
      group: name,
      baseline: direct,
      ignore,
      fn() {
        setDirectKernelsEnabled(direct);
        try {
          tf.dispose(run());
        } finally {
          setDirectKernelsEnabled(true);
        }
      },
    });
  }
}

/**
 * A/B of the narrow-input convolution kernels (`src/kernels/wasm/conv_narrow.ts`) against the
 * paths they replace (XNNPACK's `FusedConv2D`, the copying Rust gather for ∂x, the copying GEMM
 * for ∂W), at the shapes of an RNN-SPN and an SPN step on cluttered MNIST ds3, alternated in one
 * process; prints the median of each.
 *
 *   deno run -A bench/conv_narrow_ab.ts [--reps 9]
 *
 * "old" is `narrowConvSettings.enabled = false`; `bench/step_ab.ts --switch narrow` alternates
 * whole training steps.
 */
import { parseArgs } from "node:util";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { narrowConvSettings } from "../src/kernels/wasm/conv_narrow.ts";
import { median, timeAlternating } from "./_timing.ts";

const { values: opts } = parseArgs({ args: Deno.args, options: { reps: { type: "string", default: "9" } } });
const reps = Number(opts.reps);
await selectBackend("wasm");

const SHAPES: { name: string; x: [number, number, number, number]; co: number }[] = [
  { name: "RNN-SPN classifier", x: [300, 33, 33, 1], co: 32 },
  { name: "RNN-SPN localisation", x: [100, 50, 50, 1], co: 20 },
  { name: "SPN classifier", x: [100, 33, 33, 1], co: 96 },
];

for (const s of SHAPES) {
  const x = tf.randomNormal(s.x, 0, 1, "float32", 1) as tf.Tensor4D;
  const filter = tf.randomNormal([3, 3, s.x[3], s.co], 0, 0.3, "float32", 2) as tf.Tensor4D;
  const bias = tf.randomNormal([s.co], 0, 0.1, "float32", 3) as tf.Tensor1D;
  const dyShape: [number, number, number, number] = [s.x[0], s.x[1] - 2, s.x[2] - 2, s.co];
  const dy = tf.randomNormal(dyShape, 0, 1, "float32", 4) as tf.Tensor4D;
  const kernels: Record<string, () => tf.Tensor> = {
    "FusedConv2D+bias+relu": () =>
      tf.fused.conv2d({ x, filter, strides: 1, pad: "valid", bias, activation: "relu" }),
    Conv2DBackpropInput: () =>
      tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, {
        strides: [1, 1],
        pad: "valid",
        dataFormat: "NHWC",
        inputShape: s.x,
      }) as tf.Tensor,
    Conv2DBackpropFilter: () =>
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
        strides: [1, 1],
        pad: "valid",
        dataFormat: "NHWC",
        filterShape: [3, 3, s.x[3], s.co],
      }) as tf.Tensor,
  };
  for (const [name, run] of Object.entries(kernels)) {
    // A kernel's output is ready when it returns (wasm kernels are synchronous); only its disposal waits.
    const timed = (enabled: boolean) => () => {
      narrowConvSettings.enabled = enabled;
      try {
        run().dispose();
      } finally {
        narrowConvSettings.enabled = true;
      }
    };
    const times = timeAlternating({ new: timed(true), old: timed(false) }, reps);
    console.log(
      `${s.name} [${s.x}] → ${s.co}: ${name.padEnd(22)} old ${median(times.old).toFixed(1)} ms, new ${
        median(times.new).toFixed(1)
      } ms`,
    );
  }
  tf.dispose([x, filter, bias, dy]);
}

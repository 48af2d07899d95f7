/**
 * `conv2dBiasRelu`: `relu(conv2d(x, filter) + bias)` as one forward kernel.
 *
 * Under gradient recording tfjs runs `tf.fused.conv2d` with a ReLU unfused (tfjs-core's
 * `shouldFuse` is false when the gradient depth is > 0): `Conv2D`, then `Add` and `Relu` — two
 * extra passes over the layer's output, the largest tensor of a convolutional training step. Here
 * the forward pass is one `RnnspnConv2DBiasRelu` kernel: tfjs's `FusedConv2D` with
 * `activation: "relu"`, whose bias and ReLU ride in the convolution's output loop. The backward
 * pass computes dz = dy · step(y) and the bias gradient in one `RnnspnReluBiasGrad` where the
 * backend has it (wasm), else with tfjs's `Step`, `Multiply` and `Sum`, then runs
 * `Conv2DBackpropInput` and `Conv2DBackpropFilter` (so overrides of those apply here too). Kernel
 * contracts: `src/kernels/conv2d_bias_relu_spec.ts`.
 *
 * @module
 */
import { tf } from "../tf.ts";
import {
  CONV2D_BIAS_RELU,
  type Conv2dBiasReluAttrs,
  RELU_BIAS_GRAD,
} from "../kernels/conv2d_bias_relu_spec.ts";

/** Strides and padding of {@linkcode conv2dBiasRelu} (dilation is 1, layout NHWC). */
export interface Conv2dBiasReluOptions {
  /** `[strideHeight, strideWidth]` or one stride for both; positive integers. Default 1. */
  strides?: number | [number, number];
  /** tfjs's padding: `"valid"` (default) or `"same"`. */
  pad?: "valid" | "same";
}

/**
 * Whether `backend` (default: the current one) can run {@linkcode conv2dBiasRelu}: our kernel is
 * registered there (`registerKernels`) and tfjs has `FusedConv2D` for it.
 */
export function hasConv2dBiasRelu(backend: string = tf.getBackend()): boolean {
  return tf.getKernel(CONV2D_BIAS_RELU, backend) != null && tf.getKernel(tf.FusedConv2D, backend) != null;
}

function shapeOf(t: unknown): string {
  return t instanceof tf.Tensor ? `[${t.shape.join(", ")}] (${t.dtype})` : String(t);
}

/**
 * `relu(conv2d(x, filter, strides, pad) + bias)`, NHWC, differentiable with respect to all three
 * inputs. Same values and gradients as tfjs's unfused `conv2d` → `add` → `relu`; needs
 * {@linkcode hasConv2dBiasRelu}.
 *
 * @param x float32 `[B, H, W, Cin]`.
 * @param filter float32 `[kh, kw, Cin, Cout]`.
 * @param bias float32 `[Cout]`.
 * @returns float32 `[B, outH, outW, Cout]`.
 */
export function conv2dBiasRelu(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  options: Conv2dBiasReluOptions = {},
): tf.Tensor4D {
  const where = "conv2dBiasRelu";
  const { strides = 1, pad = "valid" } = options;
  const ok = (t: unknown, rank: number) => t instanceof tf.Tensor && t.rank === rank && t.dtype === "float32";
  if (!ok(x, 4) || !ok(filter, 4) || !ok(bias, 1)) {
    throw new Error(
      `${where}: x, filter and bias must be float32 tensors of rank 4, 4 and 1; got x ${shapeOf(x)}, filter ${
        shapeOf(filter)
      }, bias ${shapeOf(bias)}`,
    );
  }
  if (filter.shape[2] !== x.shape[3] || bias.shape[0] !== filter.shape[3]) {
    throw new Error(
      `${where}: filter [kh, kw, Cin, Cout] must have Cin = x's channels and Cout = bias' length; got x ${
        shapeOf(x)
      }, filter ${shapeOf(filter)}, bias ${shapeOf(bias)}`,
    );
  }
  const pair: [number, number] = typeof strides === "number" ? [strides, strides] : strides;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((s) => Number.isInteger(s) && s > 0)) {
    throw new Error(`${where}: strides must be a positive integer or two; got ${JSON.stringify(strides)}`);
  }
  if (pad !== "valid" && pad !== "same") {
    throw new Error(`${where}: pad must be "valid" or "same"; got ${JSON.stringify(pad)}`);
  }
  if (!hasConv2dBiasRelu()) {
    throw new Error(
      `${where}: backend "${tf.getBackend()}" lacks FusedConv2D or ${CONV2D_BIAS_RELU} (call registerKernels())`,
    );
  }
  const attrs: Conv2dBiasReluAttrs = { strides: [pair[0], pair[1]], pad };
  return tf.engine().runKernel(
    CONV2D_BIAS_RELU,
    { x, filter, bias },
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor4D;
}

tf.registerGradient({
  kernelName: CONV2D_BIAS_RELU,
  inputsToSave: ["x", "filter"],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved;
    const { strides, pad } = attrs as unknown as Conv2dBiasReluAttrs;
    const convAttrs = { strides, pad, dataFormat: "NHWC", dimRoundingMode: undefined };
    // dz = dy · step(y) and the bias gradient: one RnnspnReluBiasGrad where the backend has it,
    // else tfjs's own Step, Multiply and Sum. The convolution gradients run only if
    // backpropagation asks for them (a first layer's x needs none).
    const [dz, db] = tf.getKernel(RELU_BIAS_GRAD, tf.getBackend()) != null
      ? tf.engine().runKernel(RELU_BIAS_GRAD, { dy: dy as tf.Tensor, y }, {}) as unknown as tf.Tensor[]
      : tf.tidy(() => {
        const dz = tf.mul(dy as tf.Tensor, tf.step(y));
        return [dz, tf.sum(dz, [0, 1, 2])];
      });
    return {
      x: () =>
        tf.engine().runKernel(
          tf.Conv2DBackpropInput,
          { dy: dz, filter },
          { ...convAttrs, inputShape: x.shape } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor,
      filter: () =>
        tf.engine().runKernel(
          tf.Conv2DBackpropFilter,
          { x, dy: dz },
          { ...convAttrs, filterShape: filter.shape } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor,
      bias: () => db,
    };
  },
});

/**
 * `RnnspnConv2DBiasRelu` for every backend that has tfjs's `FusedConv2D`: that kernel with
 * `activation: "relu"`, looked up when called (so an override registered later is the one used).
 * A kernel of its own rather than a `customGrad` so that its registered gradient computes only the
 * input gradients backpropagation asks for (a `customGrad` computes all three, and the input
 * gradient of a first layer is as costly as the convolution).
 *
 * @module
 */
import { tf } from "../tf.ts";
import { CONV2D_BIAS_RELU, type Conv2dBiasReluAttrs } from "./conv2d_bias_relu_spec.ts";

/** The backends this kernel is registered for (each has `FusedConv2D` in tfjs 4.22). */
export const CONV2D_BIAS_RELU_BACKENDS = ["cpu", "wasm", "webgl", "webgpu"] as const;

function configFor(backendName: string): tf.KernelConfig {
  function conv2dBiasRelu(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
    const fused = tf.getKernel(tf.FusedConv2D, backendName);
    if (fused == null) {
      throw new Error(`${CONV2D_BIAS_RELU}: backend "${backendName}" has no FusedConv2D kernel`);
    }
    const { strides, pad } = args.attrs as unknown as Conv2dBiasReluAttrs;
    const attrs = {
      strides,
      pad,
      dataFormat: "NHWC",
      dilations: [1, 1],
      dimRoundingMode: undefined,
      activation: "relu",
    } as unknown as tf.NamedAttrMap;
    return fused.kernelFunc({ ...args, attrs });
  }
  return { kernelName: CONV2D_BIAS_RELU, backendName, kernelFunc: conv2dBiasRelu };
}

/** tfjs `KernelConfig`s for `RnnspnConv2DBiasRelu`, one per backend in {@linkcode CONV2D_BIAS_RELU_BACKENDS}. */
export const conv2dBiasReluConfigs: readonly tf.KernelConfig[] = CONV2D_BIAS_RELU_BACKENDS.map(configFor);

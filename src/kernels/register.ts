/**
 * The one list of this library's kernels, for every backend, and their registration.
 *
 * Each entry is a tfjs `KernelConfig` from `src/kernels/{cpu,wasm,webgpu}/<kernel>.ts`. They are
 * registered once, when `mod.ts` is imported; registering a kernel for a backend name does not
 * initialise that backend, so this does no I/O.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { conv2dBiasReluConfigs } from "./conv2d_bias_relu.ts";
import { spatialTransformCpuConfig } from "./cpu/spatial_transform.ts";
import { spatialTransformGradCpuConfig } from "./cpu/spatial_transform_grad.ts";
import { clipRmspropWasmConfig } from "./wasm/clip_rmsprop.ts";
import { conv2dBackpropFilterConfig } from "./wasm/conv2d_backprop_filter.ts";
import { fastBatchMatMulConfig } from "./wasm/batch_mat_mul.ts";
import { fastConv2DConfig, fastFusedConv2DConfig } from "./wasm/conv2d.ts";
import { fastConv2DBackpropInputConfig } from "./wasm/conv2d_backprop_input.ts";
import { fastCastConfig } from "./wasm/cast.ts";
import { fastIdentityConfig } from "./wasm/identity.ts";
import { fastMaxPoolGradConfig } from "./wasm/max_pool_grad.ts";
import { fastSumConfig } from "./wasm/sum.ts";
import { reluBiasGradWasmConfig } from "./wasm/relu_bias_grad.ts";
import { spatialTransformWasmConfig } from "./wasm/spatial_transform.ts";
import { spatialTransformGradWasmConfig } from "./wasm/spatial_transform_grad.ts";
import { unsortedSegmentSumConfig } from "./wasm/unsorted_segment_sum.ts";
import { spatialTransformWebGpuConfig } from "./webgpu/spatial_transform.ts";
import { spatialTransformGradWebGpuConfig } from "./webgpu/spatial_transform_grad.ts";

/** Every kernel this library adds to TensorFlow.js. Add new kernels here and nowhere else. */
export const KERNELS: readonly tf.KernelConfig[] = [
  spatialTransformCpuConfig,
  spatialTransformGradCpuConfig,
  conv2dBackpropFilterConfig,
  spatialTransformWasmConfig,
  spatialTransformGradWasmConfig,
  unsortedSegmentSumConfig,
  reluBiasGradWasmConfig,
  spatialTransformWebGpuConfig,
  spatialTransformGradWebGpuConfig,
  ...conv2dBiasReluConfigs,
  clipRmspropWasmConfig,
];

/**
 * Kernels that wrap the one tfjs-backend-wasm registers, where tfjs's own is a slow path of a
 * training step: each maps the original config to its replacement (which keeps the original for
 * the cases it does not speed up).
 */
export const WASM_OVERRIDES: readonly {
  kernelName: string;
  wrap: (original: tf.KernelConfig) => tf.KernelConfig;
}[] = [
  { kernelName: tf.Conv2D, wrap: fastConv2DConfig },
  { kernelName: tf.FusedConv2D, wrap: fastFusedConv2DConfig },
  { kernelName: tf.Conv2DBackpropInput, wrap: fastConv2DBackpropInputConfig },
  { kernelName: tf.BatchMatMul, wrap: fastBatchMatMulConfig },
  { kernelName: tf.MaxPoolGrad, wrap: fastMaxPoolGradConfig },
  { kernelName: tf.Sum, wrap: fastSumConfig },
  { kernelName: tf.Identity, wrap: fastIdentityConfig },
  { kernelName: tf.Cast, wrap: fastCastConfig },
];

let registered = false;

/**
 * Registers {@linkcode KERNELS} with tfjs (idempotent; kernels already present are left alone),
 * then {@linkcode WASM_OVERRIDES} in place of tfjs-backend-wasm's own.
 */
export function registerKernels(): void {
  if (registered) return;
  registered = true;
  for (const config of KERNELS) {
    if (tf.getKernel(config.kernelName, config.backendName) == null) tf.registerKernel(config);
  }
  for (const { kernelName, wrap } of WASM_OVERRIDES) {
    const original = tf.getKernel(kernelName, "wasm");
    if (original == null) continue;
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel(wrap(original));
  }
}

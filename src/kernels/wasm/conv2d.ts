/**
 * `Conv2D` and `FusedConv2D` on wasm through Winograd F(4×4, 3×3) or F(2×2, 3×3) (`winograd.ts`)
 * for the 3×3, stride-1 float32 NHWC convolutions where it beats XNNPACK's direct convolution, and
 * through our own kernel for one-channel inputs (3×3 `valid`; `conv_narrow.ts`), which XNNPACK
 * runs at a third of the SIMD rate; every other case (and `FusedConv2D` with an activation other
 * than relu or linear, or with prelu weights) goes to the kernel tfjs-backend-wasm registered,
 * which these wrap (its `setupFunc` stays, binding the C++ entry point the fallback needs), so they
 * are registered in place of it: see `src/kernels/register.ts`.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import type { WasmBackendLike } from "./heap.ts";
import { narrowConv2D, narrowConvApplies } from "./conv_narrow.ts";
import { winogradApplies, winogradConv2D } from "./winograd.ts";

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** tfjs's geometry for a float32 NHWC convolution, or null where the attributes rule Winograd out. */
function convInfo(
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.Conv2DAttrs,
): tf.backend_util.Conv2DInfo | null {
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
  if ((dataFormat !== undefined && dataFormat !== "NHWC") || x.dtype !== "float32") return null;
  if (x.shape.length !== 4 || filter.shape.length !== 4 || filter.dtype !== "float32") return null;
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    false,
    "channelsLast",
  );
}

/** A `Conv2D` kernel for wasm that takes Winograd where it pays and tfjs's own elsewhere. */
export function fastConv2DConfig(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { x, filter } = args.inputs as unknown as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const info = convInfo(x, filter, args.attrs as unknown as tf.Conv2DAttrs);
    if (info == null) return original.kernelFunc(args);
    const backend = args.backend as WasmBackendLike;
    const narrow = narrowConvApplies(backend, info, true);
    if (narrow != null) return narrowConv2D(narrow, backend, x, filter, null, false, info);
    if (!winogradApplies(info)) return original.kernelFunc(args);
    return winogradConv2D(backend, x, filter, null, false, info);
  };
  return { ...original, kernelFunc };
}

/** A `FusedConv2D` kernel for wasm: Winograd with bias and relu/linear fused where it pays. */
export function fastFusedConv2DConfig(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as unknown as {
      x: tf.TensorInfo;
      filter: tf.TensorInfo;
      bias?: tf.TensorInfo;
      preluActivationWeights?: tf.TensorInfo;
    };
    const attrs = args.attrs as unknown as tf.FusedConv2DAttrs;
    const activation = attrs.activation ?? "linear";
    if ((activation !== "relu" && activation !== "linear") || preluActivationWeights != null) {
      return original.kernelFunc(args);
    }
    const info = convInfo(x, filter, attrs);
    if (info == null) return original.kernelFunc(args);
    // tfjs's own kernel rejects any other bias with a clear error: let it.
    if (
      bias != null &&
      (bias.dtype !== "float32" || bias.shape.length !== 1 || bias.shape[0] !== info.outChannels)
    ) {
      return original.kernelFunc(args);
    }
    const backend = args.backend as WasmBackendLike;
    const relu = activation === "relu";
    const narrow = narrowConvApplies(backend, info, true);
    if (narrow != null) return narrowConv2D(narrow, backend, x, filter, bias ?? null, relu, info);
    if (!winogradApplies(info)) return original.kernelFunc(args);
    return winogradConv2D(backend, x, filter, bias ?? null, relu, info);
  };
  return { ...original, kernelFunc };
}

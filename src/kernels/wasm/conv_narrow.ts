/**
 * Stride-1 convolutions whose input has at most {@linkcode NARROW_CONV_CHANNELS} channels, and
 * both their gradients, on tfjs's heap (`wasm/direct/conv_narrow.rs`): the first convolution of
 * the classifier on each glimpse and of the localisation net (one channel in, 20–96 out). XNNPACK
 * runs that forward at a third of the SIMD rate, and the gradients' cost is streaming the wide
 * `dy` (37 MB per RNN-SPN step), which a kernel in our copying module would have to copy first.
 *
 * Used by the `Conv2D`/`FusedConv2D`, `Conv2DBackpropInput` and `Conv2DBackpropFilter` kernels
 * (`conv2d.ts`, `conv2d_backprop_input.ts`, `conv2d_backprop_filter.ts`) where
 * {@linkcode narrowConvApplies}; only where the direct kernels run (`direct.ts`): otherwise those
 * keep their previous paths.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import { type DirectKernels, directKernels, heapOffset } from "./direct.ts";
import type { WasmBackendLike } from "./heap.ts";

/** Inputs with at most this many channels take these kernels. */
export const NARROW_CONV_CHANNELS = 4;

/**
 * The direct kernels where `info` (float32 NHWC, as the callers check) is a stride-1, dilation-1
 * convolution of a narrow input with non-negative padding and a non-empty output; otherwise null.
 */
export function narrowConvApplies(
  backend: unknown,
  info: tf.backend_util.Conv2DInfo,
): DirectKernels | null {
  const { padInfo } = info;
  if (info.inChannels > NARROW_CONV_CHANNELS || info.inChannels < 1) return null;
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return null;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  if (padInfo.top < 0 || padInfo.left < 0 || padInfo.bottom < 0 || padInfo.right < 0) return null;
  if (info.batchSize * info.outHeight * info.outWidth * info.outChannels === 0) return null;
  return directKernels(backend);
}

/** act(conv(x, filter) + bias) for `info` on the direct kernels; the caller owns the result. */
export function narrowConv2D(
  direct: DirectKernels,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  bias: tf.TensorInfo | null,
  relu: boolean,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const y = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.outChannels], "float32");
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  direct.conv_narrow_f32(
    at(x),
    at(filter),
    bias == null ? 0 : at(bias),
    at(y),
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.padInfo.top,
    info.padInfo.left,
    bias == null ? 0 : 1,
    relu ? 1 : 0,
  );
  return y;
}

/** ∂x for `info` from `dy` and `filter` on the direct kernels; the caller owns the result. */
export function narrowConvBackpropInput(
  direct: DirectKernels,
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const dx = backend.makeOutput([info.batchSize, info.inHeight, info.inWidth, info.inChannels], "float32");
  direct.conv_narrow_backprop_input_f32(
    heapOffset(backend, dy),
    heapOffset(backend, filter),
    heapOffset(backend, dx),
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
  return dx;
}

/** ∂W for `info` from `x` and `dy` on the direct kernels; the caller owns the result. */
export function narrowConvBackpropFilter(
  direct: DirectKernels,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const n = kh * kw * ci * co;
  const dw = backend.makeOutput([kh, kw, ci, co], "float32");
  // Scratch: float64 totals first (8-byte aligned, as tfjs's allocations are), then float32 partials.
  const scratch = backend.makeOutput([3 * n], "float32");
  const total = heapOffset(backend, scratch);
  direct.conv_narrow_backprop_filter_f32(
    heapOffset(backend, x),
    heapOffset(backend, dy),
    heapOffset(backend, dw),
    total + 8 * n,
    total,
    info.batchSize,
    info.inHeight,
    info.inWidth,
    ci,
    info.outHeight,
    info.outWidth,
    co,
    kh,
    kw,
    info.padInfo.top,
    info.padInfo.left,
  );
  backend.disposeData(scratch.dataId);
  return dw;
}

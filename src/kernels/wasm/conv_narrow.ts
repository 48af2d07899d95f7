/**
 * Stride-1 convolutions whose input has few channels, and both their gradients, on tfjs's heap
 * (`wasm/direct/conv_narrow.rs`): the first convolution of the classifier on each glimpse and of
 * the localisation net (one channel in, 20–96 out). XNNPACK runs that forward at a third of the
 * SIMD rate, and the gradients' cost is streaming the wide `dy` (37 MB per RNN-SPN step), which a
 * kernel in our copying module would first have to copy.
 *
 * - forward and ∂W: one input channel, 3×3, `valid` ({@linkcode isValid3x3C1}), the case of a
 *   training step. A general narrow kernel for these was measured slower than XNNPACK's forward
 *   and than the copying GEMM for ∂W, so every other case keeps those.
 * - ∂x: any filter and padding with ≤ {@linkcode NARROW_CONV_CHANNELS} input channels (the same
 *   gather as `conv2d_backprop_input_narrow.ts` without its copies), with its own kernel for the
 *   3×3 one-channel `valid` case.
 *
 * Used by `conv2d.ts`, `conv2d_backprop_input.ts` and `conv2d_backprop_filter.ts`, only where the
 * direct kernels run (`direct.ts`; not with threaded tfjs): otherwise those keep their other paths.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import { type DirectKernels, directKernels, heapOffset } from "./direct.ts";
import type { WasmBackendLike } from "./heap.ts";

/** Knobs for A/B benchmarks (`bench/conv_narrow_ab.ts`) and tests; not part of the public API. */
export const narrowConvSettings = {
  /** With false every convolution takes the path it took before these kernels. */
  enabled: true,
};

/** Inputs with at most this many channels take the narrow ∂x kernel. */
export const NARROW_CONV_CHANNELS = 4;

/** One input channel, 3×3 filter, no padding (`valid`): the case with kernels of its own. */
export function isValid3x3C1(info: tf.backend_util.Conv2DInfo): boolean {
  const { padInfo } = info;
  return info.inChannels === 1 && info.filterHeight === 3 && info.filterWidth === 3 &&
    padInfo.top === 0 && padInfo.left === 0 && info.outHeight === info.inHeight - 2 &&
    info.outWidth === info.inWidth - 2;
}

/**
 * The direct kernels where `info` (float32 NHWC, as the callers check) is a stride-1, dilation-1
 * convolution of an input with 1 to {@linkcode NARROW_CONV_CHANNELS} channels, non-negative
 * padding and a non-empty output, and `valid3x3` is false or {@linkcode isValid3x3C1} holds;
 * otherwise null.
 */
export function narrowConvApplies(
  backend: unknown,
  info: tf.backend_util.Conv2DInfo,
  valid3x3: boolean,
): DirectKernels | null {
  const { padInfo } = info;
  if (!narrowConvSettings.enabled) return null;
  if (info.inChannels > NARROW_CONV_CHANNELS || info.inChannels < 1) return null;
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return null;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  if (padInfo.top < 0 || padInfo.left < 0 || padInfo.bottom < 0 || padInfo.right < 0) return null;
  if (info.batchSize * info.outHeight * info.outWidth * info.outChannels === 0) return null;
  if (valid3x3 && !isValid3x3C1(info)) return null;
  return directKernels(backend);
}

/** act(conv(x, filter) + bias) where {@linkcode isValid3x3C1}; the caller owns the result. */
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
  direct.conv3x3_c1_f32(
    heapOffset(backend, x),
    heapOffset(backend, filter),
    bias == null ? 0 : heapOffset(backend, bias),
    heapOffset(backend, y),
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.outChannels,
    bias == null ? 0 : 1,
    relu ? 1 : 0,
  );
  return y;
}

/** ∂x for `info` from `dy` and `filter`; the caller owns the result. */
export function narrowConvBackpropInput(
  direct: DirectKernels,
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: b, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const dx = backend.makeOutput([b, h, w, ci], "float32");
  const [g, f, d] = [dy, filter, dx].map((t) => heapOffset(backend, t));
  if (isValid3x3C1(info)) {
    const row = backend.makeOutput([4 * w], "float32");
    direct.conv3x3_c1_backprop_input_f32(g, f, d, heapOffset(backend, row), b, h, w, co);
    backend.disposeData(row.dataId);
    return dx;
  }
  const { outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw, padInfo } = info;
  direct.conv_narrow_backprop_input_f32(g, f, d, b, h, w, ci, oh, ow, co, kh, kw, padInfo.top, padInfo.left);
  return dx;
}

/** ∂W where {@linkcode isValid3x3C1}, from `x` and `dy`; the caller owns the result. */
export function narrowConvBackpropFilter(
  direct: DirectKernels,
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const n = 9 * info.outChannels;
  const dw = backend.makeOutput([3, 3, 1, info.outChannels], "float32");
  // Scratch: float64 totals first (8-byte aligned, as tfjs's allocations are), then float32 partials.
  const scratch = backend.makeOutput([3 * n], "float32");
  const total = heapOffset(backend, scratch);
  direct.conv3x3_c1_backprop_filter_f32(
    heapOffset(backend, x),
    heapOffset(backend, dy),
    heapOffset(backend, dw),
    total + 8 * n,
    total,
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.outChannels,
  );
  backend.disposeData(scratch.dataId);
  return dw;
}

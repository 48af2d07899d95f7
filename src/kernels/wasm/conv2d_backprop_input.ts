/**
 * `Conv2DBackpropInput` (∂x of a convolution) on the wasm backend as a forward convolution:
 * tfjs-backend-wasm 4.22 computes it with a scalar loop (~1 GFLOP/s, 20× slower than its forward
 * `Conv2D` on the paper's [300, 31, 31, 32] ⊛ 3×3×32×32), while its `Conv2D` runs on XNNPACK.
 *
 * For stride 1, ∂x is itself a convolution: ∂x = conv(dy, W′) with W′[u, v, o, c] =
 * W[KH−1−u, KW−1−v, c, o] (rotated 180°, channel axes swapped) and dy padded by KH−1−top above,
 * H−OH+top below (likewise for columns), which covers `same`, `valid` and explicit padding and
 * non-square filters. Strides above 1 (which would need zero-dilated dy) keep tfjs's kernel.
 * Inputs with ≤ 4 channels, where XNNPACK is slowest, take a Rust gather: at stride 1 on tfjs's
 * heap (`conv_narrow.ts`), else (or with threaded tfjs) through copies
 * (`conv2d_backprop_input_narrow.ts`); 3×3 stride-1 ones with enough channels take Winograd
 * (`winograd.ts`).
 *
 * Wraps the kernel tfjs registered (its `setupFunc` stays, binding the C++ entry point the
 * fallback needs), so it is registered in place of it: see `src/kernels/register.ts`.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { narrowConvApplies, narrowConvBackpropInput } from "./conv_narrow.ts";
import { backpropInputNarrow, NARROW_INPUT_CHANNELS } from "./conv2d_backprop_input_narrow.ts";
import type { WasmBackendLike } from "./heap.ts";
import { winogradApplies, winogradBackpropInput } from "./winograd.ts";

type KernelArgs = Parameters<tf.KernelFunc>[0];

interface WasmBackendHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.DataId): boolean;
}

/** W [kh, kw, ci, co] → W′ [kh, kw, co, ci] with kh and kw reversed. */
function flipFilter(
  src: Float32Array,
  dst: Float32Array,
  kh: number,
  kw: number,
  ci: number,
  co: number,
): void {
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const from = (y * kw + x) * ci * co;
      const to = ((kh - 1 - y) * kw + (kw - 1 - x)) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) dst[to + o * ci + i] = src[from + i * co + o];
      }
    }
  }
}

/** A `Conv2DBackpropInput` kernel for wasm that uses XNNPACK's convolution where it can. */
export function fastConv2DBackpropInputConfig(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { inputs, backend } = args;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args
      .attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const { dy, filter } = inputs as unknown as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    if ((dataFormat !== undefined && dataFormat !== "NHWC") || dy.dtype !== "float32") {
      return original.kernelFunc(args);
    }
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      "channelsLast",
    );
    const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co, padInfo } = info;
    const top = kh - 1 - padInfo.top;
    const left = kw - 1 - padInfo.left;
    const bottom = info.inHeight - info.outHeight + padInfo.top;
    const right = info.inWidth - info.outWidth + padInfo.left;
    const narrow = filter.dtype === "float32" ? narrowConvApplies(backend, info, false) : null;
    if (narrow != null) {
      return narrowConvBackpropInput(narrow, backend as unknown as WasmBackendLike, dy, filter, info);
    }
    if (ci <= NARROW_INPUT_CHANNELS) return backpropInputNarrow(backend as never, dy, filter, info);
    if (filter.dtype === "float32" && winogradApplies(info)) {
      return winogradBackpropInput(backend as unknown as WasmBackendLike, dy, filter, info);
    }
    if (info.strideHeight !== 1 || info.strideWidth !== 1 || Math.min(top, left, bottom, right) < 0) {
      return original.kernelFunc(args);
    }
    const wasm = backend as unknown as WasmBackendHeap;
    const flipped = wasm.makeOutput([kh, kw, co, ci], "float32");
    flipFilter(
      wasm.typedArrayFromHeap(filter) as Float32Array,
      wasm.typedArrayFromHeap(flipped) as Float32Array,
      kh,
      kw,
      ci,
      co,
    );
    try {
      return tf.getKernel(tf.Conv2D, "wasm")!.kernelFunc({
        inputs: { x: dy, filter: flipped } as unknown as tf.NamedTensorInfoMap,
        backend,
        attrs: {
          strides: [1, 1],
          dilations: [1, 1],
          pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
          dataFormat: "NHWC",
        } as unknown as tf.NamedAttrMap,
      });
    } finally {
      // Disposing also drops tfjs-wasm's cached XNNPACK operator for this filter.
      wasm.disposeData(flipped.dataId);
    }
  };
  return { ...original, kernelFunc };
}

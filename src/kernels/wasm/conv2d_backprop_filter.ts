/**
 * `Conv2DBackpropFilter` on the wasm backend (tfjs-backend-wasm 4.22 has none, so no conv net can
 * train there). The GEMM runs in our Rust module (`wasm/src/conv2d_backprop_filter.rs`); 3×3
 * stride-1 convolutions with enough channels take Winograd instead (`winograd.ts`), and one-channel
 * 3×3 `valid` ones a kernel on tfjs's heap (`conv_narrow.ts`), which needs no copy of `dy`.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { arena, f32, type WasmBackendLike } from "./heap.ts";
import { fmaKernels } from "./fma.ts";
import { wasmKernels } from "./module.ts";
import { narrowConvApplies, narrowConvBackpropFilter } from "./conv_narrow.ts";
import { winogradApplies, winogradBackpropFilter } from "./winograd.ts";

type Shape4 = [number, number, number, number];

/** Shape and padding of one weight-gradient call, in the terms the Rust kernel takes. */
export interface BackpropFilterPlan {
  /** tfjs's own conv geometry (pads, output size) for these arguments. */
  info: tf.backend_util.Conv2DInfo;
  /** Height and width of `x` after zero padding: every window the kernel reads lies inside. */
  paddedHeight: number;
  /** See `paddedHeight`. */
  paddedWidth: number;
}

/** Validates the attributes and derives the padded geometry (throws an `Error` naming the argument). */
export function planBackpropFilter(
  xShape: number[],
  dyShape: number[],
  attrs: tf.Conv2DBackpropFilterAttrs,
): BackpropFilterPlan {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat !== "NHWC") {
    throw new Error(
      `Conv2DBackpropFilter (wasm): dataFormat must be "NHWC"; got ${JSON.stringify(dataFormat)}`,
    );
  }
  if (xShape.length !== 4 || dyShape.length !== 4) {
    throw new Error(
      `Conv2DBackpropFilter (wasm): x and dy must be rank 4; got x [${xShape}] and dy [${dyShape}]`,
    );
  }
  // The kernel's attributes carry no dilation: tfjs's conv2d gradient only exists for dilation 1.
  const info = tf.backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    "channelsLast",
  );
  const { padInfo, outHeight, outWidth, outChannels, batchSize } = info;
  if (padInfo.top < 0 || padInfo.left < 0) {
    throw new Error(`Conv2DBackpropFilter (wasm): pads must be ≥ 0; got ${JSON.stringify(padInfo)}`);
  }
  const expected = [batchSize, outHeight, outWidth, outChannels];
  if (dyShape.some((d, i) => d !== expected[i])) {
    throw new Error(`Conv2DBackpropFilter (wasm): dy must have shape [${expected}]; got [${dyShape}]`);
  }
  const reachH = outHeight > 0 ? (outHeight - 1) * info.strideHeight + info.filterHeight : 0;
  const reachW = outWidth > 0 ? (outWidth - 1) * info.strideWidth + info.filterWidth : 0;
  return {
    info,
    paddedHeight: Math.max(info.inHeight + padInfo.top, reachH),
    paddedWidth: Math.max(info.inWidth + padInfo.left, reachW),
  };
}

/** Copies NHWC `src` into `dst` [b, hp, wp, c] with `top`/`left` zero rows/columns around it. */
function copyPadded(
  src: Float32Array,
  dst: Float32Array,
  [b, h, w, c]: number[],
  hp: number,
  wp: number,
  top: number,
  left: number,
): void {
  if (hp === h && wp === w) {
    dst.set(src);
    return;
  }
  // The arena is reused, so the padding must be cleared every call.
  dst.fill(0);
  const row = w * c;
  for (let bi = 0; bi < b; bi++) {
    for (let y = 0; y < h; y++) {
      const from = (bi * h + y) * row;
      dst.set(src.subarray(from, from + row), ((bi * hp + y + top) * wp + left) * c);
    }
  }
}

function conv2dBackpropFilter(
  { inputs, backend, attrs }: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  },
): tf.TensorInfo {
  const { x, dy } = inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const wasm = backend as WasmBackendLike;
  const { info, paddedHeight: hp, paddedWidth: wp } = planBackpropFilter(
    x.shape,
    dy.shape,
    attrs as unknown as tf.Conv2DBackpropFilterAttrs,
  );
  if (x.dtype === "float32" && dy.dtype === "float32") {
    const narrow = narrowConvApplies(wasm, info, true);
    if (narrow != null) return narrowConvBackpropFilter(narrow, wasm, x, dy, info);
  }
  if (winogradApplies(info)) return winogradBackpropFilter(wasm, x, dy, info);
  const { batchSize: b, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const xLen = b * hp * wp * ci;
  const dyLen = b * oh * ow * co;
  const dwLen = kh * kw * ci * co;
  const [xPtr, dyPtr, dwPtr] = arena([xLen * 4, dyLen * 4, dwLen * 4]);
  copyPadded(
    wasm.typedArrayFromHeap(x) as Float32Array,
    f32(xPtr, xLen),
    x.shape,
    hp,
    wp,
    info.padInfo.top,
    info.padInfo.left,
  );
  f32(dyPtr, dyLen).set(wasm.typedArrayFromHeap(dy) as Float32Array);
  const kernels = wasmKernels();
  // The fused multiply-add variant where the engine has relaxed SIMD (fma.ts), same arguments.
  (fmaKernels(kernels.memory) ?? kernels).conv2d_backprop_filter_f32(
    xPtr,
    dyPtr,
    dwPtr,
    b,
    hp,
    wp,
    ci,
    oh,
    ow,
    co,
    kh,
    kw,
    sh,
    sw,
  );
  const out = wasm.makeOutput([kh, kw, ci, co], "float32");
  (wasm.typedArrayFromHeap(out) as Float32Array).set(f32(dwPtr, dwLen));
  return out;
}

/** tfjs `KernelConfig` for `Conv2DBackpropFilter` on `wasm` (float32, NHWC, dilation 1). */
export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
};

/**
 * `Conv2DBackpropInput` for inputs with few channels, in our Rust module
 * (`wasm/src/conv2d_backprop_input.rs`): XNNPACK's convolution, which the wide case goes through,
 * runs at ~1 GFLOP/s when it has to produce a single channel from 32–96 (the first layer of a
 * classifier behind the spatial transformer), where a SIMD dot product over `co` does several times
 * better. Any stride and padding.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import { arena, f32, type WasmBackendLike } from "./heap.ts";
import { wasmKernels } from "./module.ts";

/** Inputs with at most this many channels take the Rust gather. */
export const NARROW_INPUT_CHANNELS = 4;

/** ∂x for `info` from `dy` and `filter` on tfjs-wasm's heap (float32, NHWC); the caller owns it. */
export function backpropInputNarrow(
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: b, inHeight: h, inWidth: w, inChannels: ci } = info;
  const { outHeight: oh, outWidth: ow, outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const dyLen = b * oh * ow * co;
  const wLen = kh * kw * ci * co;
  const dxLen = b * h * w * ci;
  const [dyPtr, wPtr, dxPtr] = arena([dyLen * 4, wLen * 4, dxLen * 4]);
  f32(dyPtr, dyLen).set(backend.typedArrayFromHeap(dy) as Float32Array);
  f32(wPtr, wLen).set(backend.typedArrayFromHeap(filter) as Float32Array);
  wasmKernels().conv2d_backprop_input_f32(
    dyPtr,
    wPtr,
    dxPtr,
    b,
    h,
    w,
    ci,
    oh,
    ow,
    co,
    kh,
    kw,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
  const out = backend.makeOutput([b, h, w, ci], "float32");
  (backend.typedArrayFromHeap(out) as Float32Array).set(f32(dxPtr, dxLen));
  return out;
}

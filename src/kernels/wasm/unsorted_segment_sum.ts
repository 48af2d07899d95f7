/**
 * `UnsortedSegmentSum` on the wasm backend (tfjs-backend-wasm 4.22 has none; it is the gradient
 * of `gather`). One linear pass in our Rust module (`wasm/src/unsorted_segment_sum.rs`).
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { arena, f32, i32, type WasmBackendLike } from "./heap.ts";
import { wasmKernels } from "./module.ts";

function unsortedSegmentSum(
  { inputs, backend, attrs }: {
    inputs: tf.NamedTensorInfoMap;
    backend: unknown;
    attrs?: tf.NamedAttrMap;
  },
): tf.TensorInfo {
  const { x, segmentIds } = inputs as unknown as Record<string, tf.TensorInfo>;
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const wasm = backend as WasmBackendLike;
  if (x.dtype !== "float32" && x.dtype !== "int32") {
    throw new Error(`UnsortedSegmentSum (wasm): x must be float32 or int32; got ${x.dtype}`);
  }
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`UnsortedSegmentSum (wasm): numSegments must be an integer ≥ 0; got ${numSegments}`);
  }
  // TensorFlow's rule: segmentIds' shape is a prefix of x's; the rest of x is the summed row.
  const idsShape = segmentIds.shape;
  if (idsShape.length > x.shape.length || idsShape.some((d, i) => d !== x.shape[i])) {
    throw new Error(
      `UnsortedSegmentSum (wasm): segmentIds' shape must be a prefix of x's [${x.shape}]; got [${idsShape}]`,
    );
  }
  const n = tf.util.sizeFromShape(idsShape);
  const rowShape = x.shape.slice(idsShape.length);
  const inner = tf.util.sizeFromShape(rowShape);
  const outLen = numSegments * inner;
  const [xPtr, idPtr, outPtr] = arena([n * inner * 4, n * 4, outLen * 4]);
  const isFloat = x.dtype === "float32";
  const src = wasm.typedArrayFromHeap(x);
  if (isFloat) f32(xPtr, n * inner).set(src as Float32Array);
  else i32(xPtr, n * inner).set(src as Int32Array);
  const ids = wasm.typedArrayFromHeap(segmentIds);
  i32(idPtr, n).set(segmentIds.dtype === "int32" ? ids as Int32Array : Int32Array.from(ids));
  const k = wasmKernels();
  if (isFloat) k.unsorted_segment_sum_f32(xPtr, idPtr, outPtr, n, inner, numSegments);
  else k.unsorted_segment_sum_i32(xPtr, idPtr, outPtr, n, inner, numSegments);
  const out = wasm.makeOutput([numSegments, ...rowShape], x.dtype);
  const dst = wasm.typedArrayFromHeap(out);
  if (isFloat) (dst as Float32Array).set(f32(outPtr, outLen));
  else (dst as Int32Array).set(i32(outPtr, outLen));
  return out;
}

/** tfjs `KernelConfig` for `UnsortedSegmentSum` on `wasm` (float32 and int32). */
export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: "wasm",
  kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};

/**
 * `Sum` over leading axes on the wasm backend as one JS pass over tfjs's heap. tfjs-backend-wasm
 * 4.22 sums only innermost axes, so a bias gradient (sum of `[B, H, W, C]` over B, H, W) costs it a
 * full transpose first: 70–90 ms for the RNN-SPN's `[300, 31, 31, 32]`. Summing rows of the
 * `[rows, inner]` view needs no transpose; float64 accumulators keep it at least as accurate as
 * tfjs's float32 sums. Other reductions keep tfjs's kernel.
 *
 * Wraps the kernel tfjs registered: see `WASM_OVERRIDES` in `src/kernels/register.ts`.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import type { WasmBackendLike } from "./heap.ts";

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** A `Sum` kernel for wasm that reduces leading axes without a transpose. */
export function fastSumConfig(original: tf.KernelConfig): tf.KernelConfig {
  function sumLeadingAxes(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as unknown as { x: tf.TensorInfo };
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    const rank = x.shape.length;
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
    const k = axes.length;
    // Only a proper prefix 0..k−1 (k ≥ 1, something left over) of a float32 tensor.
    if (x.dtype !== "float32" || k === 0 || k >= rank || axes[k - 1] !== k - 1) {
      return original.kernelFunc(args);
    }
    const rest = x.shape.slice(k);
    const inner = tf.util.sizeFromShape(rest);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
    const outShape = keepDims ? [...Array(k).fill(1), ...rest] : rest;
    const wasm = backend as WasmBackendLike;
    const out = wasm.makeOutput(outShape, "float32");
    // Views after makeOutput: allocating may grow (and detach) the heap.
    const src = wasm.typedArrayFromHeap(x) as Float32Array;
    const acc = new Float64Array(inner);
    for (let r = 0, i = 0; r < rows; r++) {
      for (let c = 0; c < inner; c++, i++) acc[c] += src[i];
    }
    (wasm.typedArrayFromHeap(out) as Float32Array).set(acc);
    return out;
  }
  return { ...original, kernelFunc: sumLeadingAxes };
}

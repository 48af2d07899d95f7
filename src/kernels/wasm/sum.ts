/**
 * `Sum` over leading axes on the wasm backend as column sums in our Rust module
 * (`wasm/src/column_sums.rs`). tfjs-backend-wasm 4.22 sums only innermost axes, so a bias gradient
 * (sum of `[B, H, W, C]` over B, H, W) costs it a full transpose first: 70–90 ms for the RNN-SPN's
 * `[300, 31, 31, 32]`. Summing rows of the `[rows, inner]` view needs no transpose; float32
 * partials folded into float64 totals keep it at least as accurate as tfjs's float32 sums. It
 * runs on tfjs's heap where it can (`direct.ts`), else after a copy into our module (still faster
 * than a JS loop). Other reductions keep tfjs's kernel.
 *
 * Wraps the kernel tfjs registered: see `WASM_OVERRIDES` in `src/kernels/register.ts`.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { arena, copyIn, copyOut, type WasmBackendLike } from "./heap.ts";
import { wasmKernels } from "./module.ts";
import { directKernels, heapOffset } from "./direct.ts";

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
    const direct = directKernels(wasm);
    if (direct) {
      const out = wasm.makeOutput(outShape, "float32");
      // Scratch on tfjs's heap: float64 totals first (8-byte aligned), then float32 partials.
      const scratch = wasm.makeOutput([3 * inner], "float32");
      const total = heapOffset(wasm, scratch);
      direct.column_sums_f32(
        heapOffset(wasm, x),
        heapOffset(wasm, out),
        total + 8 * inner,
        total,
        rows,
        inner,
      );
      wasm.disposeData(scratch.dataId);
      return out;
    }
    const [xPtr, outPtr, partPtr, totalPtr] = arena([rows * inner * 4, inner * 4, inner * 4, inner * 8]);
    copyIn(wasm, x, xPtr);
    wasmKernels().column_sums_f32(xPtr, outPtr, partPtr, totalPtr, rows, inner);
    return copyOut(wasm, outShape, "float32", outPtr);
  }
  return { ...original, kernelFunc: sumLeadingAxes };
}

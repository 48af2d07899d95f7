/**
 * `BatchMatMul` on the wasm backend, routed around tfjs-backend-wasm 4.22's slow path: its kernel
 * uses XNNPACK only when neither operand is transposed; with `transposeA`/`transposeB` (every
 * matmul gradient: ∂W = xᵀ·dy, ∂x = dy·Wᵀ) it falls back to a scalar triple loop that runs ~10×
 * slower (1.5 vs 19 GFLOP/s on the RNN-SPN's GRU). Here the transposed operand is materialised
 * with tfjs's own `Transpose` kernel (a memory pass) and the product goes through the XNNPACK
 * path. Numerically the same sums; only the order of float additions may differ.
 *
 * Wraps the kernel tfjs registered (its `setupFunc` stays), so it must be registered in place of
 * it: see `WASM_OVERRIDES` in `src/kernels/register.ts`.
 *
 * @module
 */
import { tf } from "../../tf.ts";

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** The last two axes of `x` swapped, by tfjs-backend-wasm's Transpose kernel (caller frees it). */
export function transposeLastTwo(x: tf.TensorInfo, backend: KernelArgs["backend"]): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  const transpose = tf.getKernel("Transpose", "wasm")!.kernelFunc;
  return transpose({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
}

/** A `BatchMatMul` kernel for wasm that feeds `original` untransposed operands. */
export function fastBatchMatMulConfig(original: tf.KernelConfig): tf.KernelConfig {
  function batchMatMulUntransposed(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
    const { inputs, backend, attrs } = args;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    if (!transposeA && !transposeB) return original.kernelFunc(args);
    let { a, b } = inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
    const wasm = backend as { disposeData(id: tf.DataId): void };
    const unbatched = (t: tf.TensorInfo) => t.shape.slice(0, -2).every((d) => d === 1);
    if (transposeB && !transposeA && a.shape.length === b.shape.length && unbatched(a) && unbatched(b)) {
      // a·bᵀ = (b·aᵀ)ᵀ: when b is the big operand (∂x = dy·Wᵀ of a wide dense layer, W up to 17 M
      // weights in the CNN) transpose the small ones — a and the result — instead of b.
      const [m, k] = a.shape.slice(-2), n = b.shape[b.shape.length - 2];
      if (m * k + m * n < k * n) {
        const at = transposeLastTwo(a, backend);
        let product: tf.TensorInfo;
        try {
          product = original.kernelFunc({
            inputs: { a: b, b: at },
            backend,
            attrs: { ...attrs, transposeA: false, transposeB: false },
          }) as tf.TensorInfo;
        } finally {
          wasm.disposeData(at.dataId);
        }
        const out = transposeLastTwo(product, backend);
        wasm.disposeData(product.dataId);
        return out;
      }
    }
    const temporaries: tf.TensorInfo[] = [];
    if (transposeA) temporaries.push(a = transposeLastTwo(a, backend));
    if (transposeB) temporaries.push(b = transposeLastTwo(b, backend));
    try {
      return original.kernelFunc({
        inputs: { a, b },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of temporaries) wasm.disposeData(t.dataId);
    }
  }
  return { ...original, kernelFunc: batchMatMulUntransposed };
}

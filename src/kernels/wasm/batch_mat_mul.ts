/**
 * `BatchMatMul` on the wasm backend, routed around tfjs-backend-wasm 4.22's slow path: its kernel
 * uses XNNPACK only when neither operand is transposed; with `transposeA`/`transposeB` (every
 * matmul gradient: ∂W = xᵀ·dy, ∂x = dy·Wᵀ) it falls back to a scalar triple loop that runs ~10×
 * slower (1.5 vs 19 GFLOP/s on the RNN-SPN's GRU). Here the transposed operand is materialised
 * with tfjs's own `Transpose` kernel (a memory pass) and the product goes through the XNNPACK
 * path. Numerically the same sums; only the order of float additions may differ.
 *
 * Three more routes go to our own unpacked GEMM (`wasm/direct/gemm.rs`, on tfjs's heap):
 * - unbatched `a·b` of at most {@linkcode OWN_GEMM_ROW_BUDGET} rows. XNNPACK packs b (the
 *   weights) on the first call with a b tensor (its operator cache is keyed by b's tensor id), which
 *   after every optimizer step is a new tensor; for a wide dense layer ([100, 1620] · [1620, 768])
 *   that packing costs about as much as the product. Our kernel reads b in place but runs ~20%
 *   slower than XNNPACK's packed one, so it pays for short products; long ones go to XNNPACK. The
 *   choice depends on this product's shape alone, never on what ran before: the two kernels sum in
 *   different orders, so a choice that followed the process's history (an evaluation pass before
 *   the next step, absent in a resumed process) made resumed training drift from uninterrupted
 *   training.
 * - products with a batch of more than one, for which tfjs has only its scalar loop (b of a
 *   `transposeB` product materialised transposed first; `transposeA` is a stride of the kernel).
 * - unbatched `aᵀ·b` (∂W) with a reduction of at least `ownGemm.transposedAMinK` rows: a
 *   transposed, then our GEMM (with fused multiply-adds it now beats XNNPACK there).
 *
 * Where tfjs runs threaded (no direct kernels) every product takes the XNNPACK routes of the first
 * paragraph.
 *
 * Wraps the kernel tfjs registered (its `setupFunc` stays), so it must be registered in place of
 * it: see `WASM_OVERRIDES` in `src/kernels/register.ts`.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { type DirectKernels, directKernels, heapOffset } from "./direct.ts";

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** The last two axes of `x` swapped, by tfjs-backend-wasm's Transpose kernel (caller frees it). */
export function transposeLastTwo(x: tf.TensorInfo, backend: KernelArgs["backend"]): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  const transpose = tf.getKernel("Transpose", "wasm")!.kernelFunc;
  return transpose({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
}

/**
 * Unbatched `a·b` of at most this many rows runs on our GEMM, longer ones on XNNPACK. Packing b
 * costs XNNPACK about as much as ~70 rows of its product, and our kernel is ~20% slower per row
 * (bench/matmul_ab.ts), so skipping the packing pays up to ~300 rows: the RNN-SPN's products with a
 * fresh weight tensor each step are 100 rows (its batch) at a time.
 */
export const OWN_GEMM_ROW_BUDGET = 300;

/**
 * Switches and counter of the own-GEMM routes, for tests and A/B benchmarks: `enabled = false`
 * gives the previous routing (XNNPACK, or tfjs's loop for batches); `calls` counts `gemm_f32`
 * products.
 *
 * `transposedAMinK`: unbatched `aᵀ·b` (a dense layer's ∂W = xᵀ·dy) runs on our GEMM, after a
 * transpose of a, when its reduction (a's rows, the batch) is at least this long; shorter ones
 * stay on transpose + XNNPACK (`Infinity`: all of them). Whole training steps with and without
 * the route, alternated in one run (`bench/step_ab.ts --switch gemm-ta`): RNN-SPN DS 1 (reduction
 * 300) 2527 → 2163 ms and CNN-SPN DS 3 (100) 518 → 477 ms, but the CNN (50: [50, 42320]ᵀ·[50, 400])
 * 1877 → 1975 ms, hence 100.
 */
export const ownGemm = { enabled: true, transposedAMinK: 100, calls: 0 };

/** A `BatchMatMul` kernel for wasm that feeds `original` untransposed operands. */
export function fastBatchMatMulConfig(original: tf.KernelConfig): tf.KernelConfig {
  function batchMatMulUntransposed(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
    const { inputs, backend, attrs } = args;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    let { a, b } = inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
    const wasm = backend as { disposeData(id: tf.DataId): void };
    const unbatched = (t: tf.TensorInfo) => t.shape.slice(0, -2).every((d) => d === 1);
    const direct = ownGemm.enabled && a.dtype === "float32" && b.dtype === "float32"
      ? directKernels(backend)
      : null;
    if (direct && tf.util.sizeFromShape(a.shape) > 0 && tf.util.sizeFromShape(b.shape) > 0) {
      const [m, k] = transposeA ? a.shape.slice(-2).reverse() : a.shape.slice(-2);
      if (!unbatched(a) || !unbatched(b)) {
        const out = batchedGemm(direct, a, b, transposeA, transposeB, backend);
        if (out) return out;
      } else if (
        transposeA && !transposeB && a.shape.length === b.shape.length && k >= ownGemm.transposedAMinK
      ) {
        // ∂W = xᵀ·dy: a materialised transposed (a memory pass), then our GEMM reads it row by row.
        const at = transposeLastTwo(a, backend);
        try {
          return gemm(direct, at, b, false, backend, [
            ...a.shape.slice(0, -2),
            m,
            b.shape[b.shape.length - 1],
          ]);
        } finally {
          wasm.disposeData(at.dataId);
        }
      } else if (!transposeA && !transposeB && a.shape.length === b.shape.length) {
        if (m <= OWN_GEMM_ROW_BUDGET && k === b.shape[b.shape.length - 2]) {
          return gemm(direct, a, b, false, backend, [
            ...a.shape.slice(0, -2),
            m,
            b.shape[b.shape.length - 1],
          ]);
        }
      }
    }
    if (!transposeA && !transposeB) return original.kernelFunc(args);
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

/** The product of a (transposed or not) and b [.., k, n] on tfjs's heap, by `gemm_f32`, in `shape`. */
function gemm(
  direct: DirectKernels,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  backend: KernelArgs["backend"],
  shape: number[],
  batches = 1,
  aBatch = 0,
  bBatch = 0,
): tf.TensorInfo {
  const [m, k] = transposeA ? a.shape.slice(-2).reverse() : a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const out = (backend as unknown as { makeOutput(s: number[], d: tf.DataType): tf.TensorInfo }).makeOutput(
    shape,
    "float32",
  );
  const [ap, bp, op] = [heapOffset(backend, a), heapOffset(backend, b), heapOffset(backend, out)];
  ownGemm.calls += batches;
  for (let i = 0; i < batches; i++) {
    direct.gemm_f32(
      ap + 4 * i * aBatch,
      bp + 4 * i * bBatch,
      op + 4 * i * m * n,
      m,
      n,
      k,
      transposeA ? 1 : k,
      transposeA ? m : 1,
    );
  }
  return out;
}

/**
 * A product with batch dims, where tfjs has only its scalar loop, or `null` where a's and b's
 * batch dims neither match nor are one of them all 1 (tfjs's own broadcasting handles those).
 */
function batchedGemm(
  direct: DirectKernels,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  backend: KernelArgs["backend"],
): tf.TensorInfo | null {
  const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
  const sizeA = tf.util.sizeFromShape(batchA), sizeB = tf.util.sizeFromShape(batchB);
  // Equal batch dims, or one side's all 1 at the same rank; other broadcasts (and shape errors)
  // stay with tfjs.
  if (batchA.length !== batchB.length) return null;
  if (sizeA !== 1 && sizeB !== 1 && batchA.some((d, i) => d !== batchB[i])) return null;
  const k = transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  if (k !== (transposeB ? b.shape[b.shape.length - 1] : b.shape[b.shape.length - 2])) return null;
  const batchShape = sizeA >= sizeB ? batchA : batchB;
  const bt = transposeB ? transposeLastTwo(b, backend) : b;
  try {
    const m = transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
    const n = bt.shape[bt.shape.length - 1];
    return gemm(
      direct,
      a,
      bt,
      transposeA,
      backend,
      [...batchShape, m, n],
      Math.max(sizeA, sizeB),
      sizeA > 1 ? m * k : 0,
      sizeB > 1 ? k * n : 0,
    );
  } finally {
    if (bt !== b) (backend as unknown as { disposeData(id: tf.DataId): void }).disposeData(bt.dataId);
  }
}

/**
 * `MaxPoolGrad` on the wasm backend: tfjs-backend-wasm 4.22's kernel takes ~17 ns per input
 * element (160 ms for the RNN-SPN's [300, 31, 31, 32] pool, 25 % of a training step), while the
 * gradient is just "route each dy to its window's argmax". For every output cell this finds the
 * first maximum of its window in row-major order — the rule of tfjs's cpu kernel (strict `>`, so
 * ties go to the earliest element and NaN is never picked) — and adds dy there. NHWC.
 *
 * The paper's pools (2×2, stride 2, every window inside the image) run in our Rust module
 * (`wasm/src/max_pool_grad.rs`, branchless SIMD, on tfjs's heap); any other filter size, stride and padding
 * (overlapping windows accumulate) is one JS pass over tfjs's heap.
 *
 * Wraps the kernel tfjs registered (kept for non-float32 inputs): see `WASM_OVERRIDES` in
 * `src/kernels/register.ts`.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { arena, copyIn, copyOut, type WasmBackendLike } from "./heap.ts";
import { wasmKernels } from "./module.ts";
import { directKernels, heapOffset } from "./direct.ts";

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** A `MaxPoolGrad` kernel for wasm that routes dy to the argmax in JS. */
export function fastMaxPoolGradConfig(original: tf.KernelConfig): tf.KernelConfig {
  function maxPoolGradArgmax(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
    const { inputs, backend, attrs } = args;
    const { dy, input } = inputs as unknown as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
    if (dy.dtype !== "float32" || input.dtype !== "float32") return original.kernelFunc(args);
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth } = info;
    if (dy.shape.length !== 4 || dy.shape[1] !== outHeight || dy.shape[2] !== outWidth || dy.shape[3] !== C) {
      throw new Error(
        `MaxPoolGrad (wasm): dy must be [${batchSize}, ${outHeight}, ${outWidth}, ${C}]; got [${dy.shape}]`,
      );
    }
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const top = info.padInfo.top, left = info.padInfo.left;
    const wasm = backend as WasmBackendLike;
    const inside = 2 * outHeight <= inHeight && 2 * outWidth <= inWidth;
    if (fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && inside) {
      return windows2x2(wasm, input, dy, batchSize, inHeight, inWidth, C);
    }
    const out = wasm.makeOutput(input.shape, "float32");
    // Views after makeOutput: allocating may grow (and detach) the heap.
    const dx = wasm.typedArrayFromHeap(out) as Float32Array;
    const x = wasm.typedArrayFromHeap(input) as Float32Array;
    const g = wasm.typedArrayFromHeap(dy) as Float32Array;
    dx.fill(0);
    const rowX = inWidth * C, imageX = inHeight * rowX;
    let o = 0;
    for (let b = 0; b < batchSize; b++) {
      const base = b * imageX;
      for (let yr = 0; yr < outHeight; yr++) {
        const r0 = Math.max(0, yr * sh - top), r1 = Math.min(inHeight, yr * sh - top + fh);
        for (let yc = 0; yc < outWidth; yc++) {
          const c0 = Math.max(0, yc * sw - left), c1 = Math.min(inWidth, yc * sw - left + fw);
          for (let d = 0; d < C; d++, o++) {
            let best = -Infinity, at = -1;
            for (let r = r0; r < r1; r++) {
              for (let c = c0, i = base + r * rowX + c0 * C + d; c < c1; c++, i += C) {
                if (x[i] > best) {
                  best = x[i];
                  at = i;
                }
              }
            }
            if (at >= 0) dx[at] += g[o];
          }
        }
      }
    }
    return out;
  }
  return { ...original, kernelFunc: maxPoolGradArgmax };
}

/**
 * The paper's 2×2 / stride 2 pools with every window inside: disjoint windows, so our Rust kernel
 * writes each dx element once and picks each window's first maximum with lane masks (a scalar JS
 * loop spends most of its time on mispredicted comparisons). It runs on tfjs's heap where it can
 * (`direct.ts`), else with copies in and out of our module, which is still faster than JS.
 */
function windows2x2(
  wasm: WasmBackendLike,
  input: tf.TensorInfo,
  dy: tf.TensorInfo,
  batch: number,
  height: number,
  width: number,
  C: number,
): tf.TensorInfo {
  const direct = directKernels(wasm);
  if (direct) {
    const out = wasm.makeOutput(input.shape, "float32");
    const [x, g, dx] = [input, dy, out].map((t) => heapOffset(wasm, t));
    direct.max_pool_grad_2x2_f32(x, g, dx, batch, height, width, C);
    return out;
  }
  const n = batch * height * width * C, m = tf.util.sizeFromShape(dy.shape);
  const [xPtr, gPtr, dxPtr] = arena([n * 4, m * 4, n * 4]);
  copyIn(wasm, input, xPtr);
  copyIn(wasm, dy, gPtr);
  wasmKernels().max_pool_grad_2x2_f32(xPtr, gPtr, dxPtr, batch, height, width, C);
  return copyOut(wasm, input.shape, "float32", dxPtr);
}

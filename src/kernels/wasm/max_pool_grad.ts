/**
 * `MaxPoolGrad` on the wasm backend as one JS pass over tfjs's heap: tfjs-backend-wasm 4.22's
 * kernel takes ~17 ns per input element (160 ms for the RNN-SPN's [300, 31, 31, 32] pool, 25 % of
 * a training step), while the gradient is just "route each dy to its window's argmax". For every
 * output cell this finds the first maximum of its window in row-major order — the rule of tfjs's
 * cpu kernel (strict `>`, so ties go to the earliest element and NaN is never picked) — and adds
 * dy there. Any filter size, stride and padding (overlapping windows accumulate); NHWC.
 *
 * Wraps the kernel tfjs registered (kept for non-float32 inputs): see `WASM_OVERRIDES` in
 * `src/kernels/register.ts`.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import type { WasmBackendLike } from "./heap.ts";

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
    const out = wasm.makeOutput(input.shape, "float32");
    // Views after makeOutput: allocating may grow (and detach) the heap.
    const dx = wasm.typedArrayFromHeap(out) as Float32Array;
    const x = wasm.typedArrayFromHeap(input) as Float32Array;
    const g = wasm.typedArrayFromHeap(dy) as Float32Array;
    dx.fill(0);
    const rowX = inWidth * C, imageX = inHeight * rowX;
    const inside = 2 * outHeight <= inHeight && 2 * outWidth <= inWidth;
    if (fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && inside) {
      windows2x2(x, g, dx, batchSize, imageX, rowX, C, outHeight, outWidth);
      return out;
    }
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

/** The paper's 2×2 / stride 2 pools with every window inside: disjoint, four loads per output. */
function windows2x2(
  x: Float32Array,
  g: Float32Array,
  dx: Float32Array,
  batch: number,
  imageX: number,
  rowX: number,
  C: number,
  outHeight: number,
  outWidth: number,
): void {
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      for (let yc = 0; yc < outWidth; yc++) {
        const i0 = b * imageX + 2 * yr * rowX + 2 * yc * C;
        for (let d = 0; d < C; d++, o++) {
          // Row-major order and strict ">": the first maximum wins, as in tfjs's cpu kernel.
          // NaN and −∞ are never picked; a window of only those gets no gradient.
          let at = -1, best = -Infinity;
          let i = i0 + d;
          if (x[i] > best) best = x[at = i];
          i += C;
          if (x[i] > best) best = x[at = i];
          i = i0 + rowX + d;
          if (x[i] > best) best = x[at = i];
          i += C;
          if (x[i] > best) at = i;
          if (at >= 0) dx[at] = g[o];
        }
      }
    }
  }
}

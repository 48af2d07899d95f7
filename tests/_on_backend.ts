/** Helpers of the wasm-override tests, which run the same computation on wasm and on cpu. */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";

/** Runs `fn` on `backend`; returns its result's shape and values (every tensor disposed). */
export async function on(
  backend: "cpu" | "wasm",
  fn: () => tf.Tensor,
): Promise<{ shape: number[]; data: Float32Array | Int32Array }> {
  await selectBackend(backend);
  const t = tf.tidy(fn);
  const out = { shape: t.shape, data: await t.data() as Float32Array | Int32Array };
  t.dispose();
  return out;
}

/** `n` values uniform in [-1, 1) from `rand`, as float32. */
export function values(rand: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

/**
 * max |a − b| / max |b|: error relative to the result's scale, as kernels that sum in another order
 * (or Winograd's transforms) round relative to it; elementwise ratios blow up near 0.
 */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "result sizes differ");
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? err : err / scale;
}

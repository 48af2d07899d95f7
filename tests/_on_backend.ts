/** Helpers of the wasm-override tests, which run the same computation on wasm and on cpu. */
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

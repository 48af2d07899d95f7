/**
 * Reading a tensor's values on the host without a copy: how data-parallel training hands gradients
 * and batches to its Workers through shared memory, kept here so that training reaches the wasm
 * backend's heap only through an op.
 *
 * @module
 */
import type { tf } from "../tf.ts";
import { hostView } from "../kernels/wasm/heap.ts";

/**
 * `t`'s values on the host: on wasm a view of tfjs's heap (no copy), valid only until tfjs next
 * allocates, so read or copy it at once; on other backends `dataSync()`.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { readOnHost } from "./host_view.ts";
 * const t = tf.tensor1d([1, 2, 3]);
 * const copy = Float32Array.from(readOnHost(t)); // copied before tfjs allocates again
 * t.dispose();
 * ```
 */
export function readOnHost(t: tf.Tensor): tf.TypedArray {
  return hostView(t);
}

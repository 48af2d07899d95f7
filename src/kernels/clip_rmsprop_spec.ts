/**
 * The contract of the fused clip + RMSprop update kernel (see `src/ops/clip_rmsprop.ts`).
 *
 * `RnnspnClipRmsprop`, for `n` variables, inputs `{ g0…g(n−1), w0…, ms0…, mo0… }`: each variable's
 * gradient, weights, RMSprop mean squares and moments, float32, the four of variable `i` of one
 * shape. Attributes {@linkcode ClipRmspropAttrs}. Outputs `[w0'…, ms0'…, mo0'…]` (3n tensors, new
 * data): the gradient `g = gradScale · g_i + Σ_k shards[k].scale · shards[k].grads[slice i]` is
 * clipped element-wise to ±clipValue, then scaled by `min(1, clipNorm / max(‖g‖, 1e-12))` over all
 * variables, then applied as tfjs's `RMSPropOptimizer` (non-centered) does, each float32 operation
 * in tfjs's order, so that the result is bitwise tfjs's unfused `clipGradients` + `applyGradients`.
 * `weightsOut`, when given, receives every new weight, variables concatenated in order.
 *
 * @module
 */

/** Kernel name. */
export const CLIP_RMSPROP = "RnnspnClipRmsprop";

/** Attributes of `RnnspnClipRmsprop`. */
export interface ClipRmspropAttrs {
  /** Number of variables `n`. */
  count: number;
  /** Element-wise clip (finite and > 0), else none. */
  clipValue: number;
  /** Global-norm clip (finite and > 0), else none. */
  clipNorm: number;
  /** RMSprop's ρ. */
  decay: number;
  /** RMSprop's momentum. */
  momentum: number;
  /** Learning rate of this step. */
  learningRate: number;
  /** RMSprop's ε. */
  epsilon: number;
  /** Factor on the inputs' gradients. */
  gradScale: number;
  /** Further gradients (every variable concatenated in order), each times its scale, added after. */
  shards: readonly { grads: Float32Array; scale: number }[];
  /** Receives the new weights, every variable concatenated in order. */
  weightsOut: Float32Array | null;
}

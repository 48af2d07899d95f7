/**
 * `clipRmsprop`: element-wise clip, global-norm clip and one RMSprop step over a set of variables,
 * as one kernel (`RnnspnClipRmsprop`, see `src/kernels/clip_rmsprop_spec.ts`) where the active
 * backend has one (wasm). Training uses it through `src/train/fused_update.ts`, which keeps the
 * state in tfjs's own `RMSPropOptimizer`.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { CLIP_RMSPROP, type ClipRmspropAttrs } from "../kernels/clip_rmsprop_spec.ts";

/** One variable's tensors for {@linkcode clipRmsprop}: all float32 of one shape. */
export interface RmspropSlot {
  /** Its gradient. */
  grad: tf.Tensor;
  /** Its weights. */
  weights: tf.Tensor;
  /** RMSprop's running mean of squared gradients. */
  meanSquares: tf.Tensor;
  /** RMSprop's momentum accumulator. */
  moments: tf.Tensor;
}

/** Hyper-parameters and extras of {@linkcode clipRmsprop}. */
export type ClipRmspropOptions = Omit<ClipRmspropAttrs, "count" | "weightsOut" | "shards" | "gradScale"> & {
  /** Factor on the slots' gradients (default 1). */
  gradScale?: number;
  /** Further gradients, every variable concatenated in slot order, each times its scale, added after. */
  shards?: readonly { grads: Float32Array; scale: number }[];
  /** Receives the new weights, every variable concatenated in slot order. */
  weightsOut?: Float32Array;
};

/** Whether the active backend has the fused kernel. */
export function hasClipRmsprop(): boolean {
  return tf.getKernel(CLIP_RMSPROP, tf.getBackend()) != null;
}

/**
 * One clipped RMSprop step, fused: returns each slot's new `[weights, meanSquares, moments]` (new
 * tensors the caller owns), bitwise what tfjs's `clipGradients` + `RMSPropOptimizer.applyGradients`
 * (non-centered) compute. Only where {@linkcode hasClipRmsprop}.
 */
export function clipRmsprop(slots: readonly RmspropSlot[], options: ClipRmspropOptions): tf.Tensor[][] {
  const { gradScale = 1, shards = [], weightsOut, ...rest } = options;
  if (!hasClipRmsprop()) {
    throw new Error(`clipRmsprop: the ${tf.getBackend()} backend has no ${CLIP_RMSPROP} kernel`);
  }
  if (slots.length === 0) throw new Error("clipRmsprop: no variables");
  const total = slots.reduce((n, s) => n + s.weights.size, 0);
  slots.forEach((s, i) => {
    const all = [s.grad, s.weights, s.meanSquares, s.moments];
    if (!all.every((t) => t.dtype === "float32" && tf.util.arraysEqual(t.shape, s.weights.shape))) {
      throw new Error(
        `clipRmsprop: slot ${i} must hold float32 tensors of one shape; got ${
          all.map((t) => `[${t.shape}] ${t.dtype}`).join(", ")
        }`,
      );
    }
  });
  for (const { grads } of shards) {
    if (grads.length !== total) {
      throw new Error(`clipRmsprop: a shard has ${grads.length} gradient values; the variables ${total}`);
    }
  }
  if (weightsOut && weightsOut.length !== total) {
    throw new Error(`clipRmsprop: weightsOut holds ${weightsOut.length} values; the variables ${total}`);
  }
  const inputs: Record<string, tf.Tensor> = {};
  slots.forEach((s, i) => {
    inputs[`g${i}`] = s.grad;
    inputs[`w${i}`] = s.weights;
    inputs[`ms${i}`] = s.meanSquares;
    inputs[`mo${i}`] = s.moments;
  });
  const attrs: ClipRmspropAttrs = {
    ...rest,
    count: slots.length,
    gradScale,
    shards,
    weightsOut: weightsOut ?? null,
  };
  const out = tf.engine().runKernel(
    CLIP_RMSPROP,
    inputs as tf.NamedTensorMap,
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor[];
  const n = slots.length;
  return slots.map((_, i) => [out[i], out[n + i], out[2 * n + i]]);
}

/**
 * The recipe's optimizer step — element-wise clip, global-norm clip, RMSprop — as one fused op
 * (`clipRmsprop` in `src/ops/clip_rmsprop.ts`, a kernel on the wasm backend) instead of tfjs's ~12
 * small kernels per variable.
 *
 * The state stays tfjs's own: the accumulators are the `RMSPropOptimizer`'s variables (created
 * and named as it would, replaced through `assign`), and the iteration count is incremented as it
 * would, so `getWeights`/`setWeights` (checkpoints) and `setLearningRate` behave unchanged. The
 * result is bitwise the unfused path's (tests/fused_update_test.ts).
 *
 * Not fused (see {@linkcode canFuseUpdate}): backends without the kernel, Adam, centered RMSprop,
 * subclasses of `RMSPropOptimizer`, non-float32 variables.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { clipRmsprop, hasClipRmsprop } from "../ops/clip_rmsprop.ts";

/** The fields of tfjs's `RMSPropOptimizer` the fused update reads and updates (all runtime-public). */
interface RmspropInternals {
  learningRate: number;
  decay: number;
  momentum: number;
  epsilon: number;
  centered: boolean;
  accumulatedMeanSquares: { originalName: string; variable: tf.Variable }[];
  accumulatedMoments: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

/**
 * Switch for A/B measurements and parity tests: `false` sends every step down tfjs's unfused path.
 * Not part of the public API.
 */
export const fusedUpdate = { enabled: true };

/** Resolved clipping: `clipValue`/`clipNorm` of `ClipOptions`, `Infinity` meaning off. */
export interface Clip {
  /** Each element to ±clipValue (finite and > 0), else no element-wise clip. */
  clipValue: number;
  /** Global norm to ≤ clipNorm (finite and > 0), else no norm clip. */
  clipNorm: number;
}

/** Data-parallel additions to {@linkcode fusedClipRmsprop}. */
export interface FusedExtras {
  /** Factor applied to `grads` before anything else (the main shard's share of the batch). */
  gradScale?: number;
  /**
   * The other shards' gradients, each every variable concatenated in `vars` order, multiplied by
   * its `scale` (the shard's share of the batch) and added after `grads` in this order.
   */
  shards?: readonly { grads: Float32Array; scale: number }[];
  /** Receives the updated weights, every variable concatenated in `vars` order. */
  weightsOut?: Float32Array;
}

/**
 * Whether {@linkcode fusedClipRmsprop} handles this update: a backend with the fused kernel (wasm), tfjs's own
 * non-centered `RMSPropOptimizer` (exactly that class: a subclass may change the update), distinct
 * float32 variables (tfjs would update a repeated one twice in sequence) and float32 gradients of
 * their shapes (tfjs's path reports a mismatch).
 */
export function canFuseUpdate(optimizer: tf.Optimizer, vars: tf.Variable[], grads: tf.Tensor[]): boolean {
  if (!fusedUpdate.enabled || !hasClipRmsprop()) return false;
  // Not `instanceof`: tfjs's Optimizer[Symbol.hasInstance] accepts any optimizer.
  if (Object.getPrototypeOf(optimizer) !== tf.RMSPropOptimizer.prototype) return false;
  if ((optimizer as unknown as RmspropInternals).centered) return false;
  return vars.length === grads.length && vars.length > 0 && new Set(vars).size === vars.length &&
    vars.every((v, i) =>
      v.dtype === "float32" && grads[i].dtype === "float32" && tf.util.arraysEqual(grads[i].shape, v.shape)
    );
}

/** The optimizer's accumulators of variable `i`, created as tfjs's `applyGradients` would. */
function accumulators(o: RmspropInternals, i: number, v: tf.Variable): [tf.Variable, tf.Variable] {
  o.accumulatedMeanSquares[i] ??= {
    originalName: `${v.name}/rms`,
    variable: tf.tidy(() => tf.zerosLike(v).variable(false)),
  };
  o.accumulatedMoments[i] ??= {
    originalName: `${v.name}/momentum`,
    variable: tf.tidy(() => tf.zerosLike(v).variable(false)),
  };
  return [o.accumulatedMeanSquares[i].variable, o.accumulatedMoments[i].variable];
}

/**
 * `clipGradients(grads, clip)` then `optimizer.applyGradients` (tfjs's RMSprop), fused; only where
 * {@linkcode canFuseUpdate} holds. With `extras`, the gradient is `grads · gradScale +
 * shards[0].grads · shards[0].scale + …` (data-parallel) and the new weights are also written to `weightsOut`. The caller keeps
 * ownership of `grads`.
 */
export function fusedClipRmsprop(
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  grads: tf.Tensor[],
  clip: Clip,
  extras: FusedExtras = {},
): void {
  const o = optimizer as unknown as RmspropInternals;
  const accs = vars.map((v, i) => accumulators(o, i, v));
  const updated = clipRmsprop(
    vars.map((v, i) => ({ grad: grads[i], weights: v, meanSquares: accs[i][0], moments: accs[i][1] })),
    {
      clipValue: clip.clipValue,
      clipNorm: clip.clipNorm,
      decay: o.decay,
      momentum: o.momentum,
      learningRate: o.learningRate,
      epsilon: o.epsilon,
      ...extras,
    },
  );
  // The new tensors replace the variables' values, as tfjs's own update does (assign keeps the data).
  vars.forEach((v, i) => {
    const [w, ms, mo] = updated[i];
    accs[i][0].assign(ms);
    accs[i][1].assign(mo);
    v.assign(w);
  });
  tf.dispose(updated.flat());
  o.incrementIterations();
}

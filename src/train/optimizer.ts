/**
 * The optimizers of the recipe (tfjs's RMSprop and Adam), their learning rate set per epoch, and
 * their state (iteration count + accumulators) as bytes for checkpoints.
 *
 * @module
 */
import { tf } from "../tf.ts";

/**
 * Which optimizer.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist, type OptimizerName, RecurrentAttention, train } from "@rnnspn/core";
 * const optimizer: OptimizerName = "adam"; // "rmsprop", the paper's, is the default
 * const data = new ClutteredMnist(await loadMnist());
 * await train(new RecurrentAttention(), data, { optimizer, learningRate: 1e-3 });
 * ```
 */
export type OptimizerName = "rmsprop" | "adam";

/** The paper's RMSprop: ρ 0.9, ε 1e-6, no momentum. Adam: tfjs defaults (β 0.9/0.999, ε 1e-7 → 1e-8 here). */
export function createOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  if (!(learningRate > 0)) throw new Error(`createOptimizer: learningRate must be > 0; got ${learningRate}`);
  if (name === "rmsprop") return tf.train.rmsprop(learningRate, 0.9, 0, 1e-6);
  if (name === "adam") return tf.train.adam(learningRate, 0.9, 0.999, 1e-8);
  throw new Error(`createOptimizer: optimizer must be "rmsprop" or "adam"; got ${JSON.stringify(name)}`);
}

/** Sets the rate the next `applyGradients` uses (both tfjs optimizers read `this.learningRate` per step). */
export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
}

/** Optimizer state encoded as tfjs weights: a manifest (JSON) and the bytes. */
export interface OptimizerState {
  /** Weight specs in order (the first is the iteration count). */
  specs: tf.io.WeightsManifestEntry[];
  /** The concatenated weight data. */
  data: Uint8Array;
}

/** Encodes the optimizer's state (iteration count first, then its accumulators, in variable order). */
export async function saveOptimizerState(optimizer: tf.Optimizer): Promise<OptimizerState> {
  const weights = await optimizer.getWeights();
  // Names can repeat across model instances' variable names only if tfjs reuses them; keep order explicit.
  const named = weights.map((w, i) => ({
    name: `${String(i).padStart(5, "0")}:${w.name}`,
    tensor: w.tensor,
  }));
  const { data, specs } = await tf.io.encodeWeights(named);
  // encodeWeights allocates the iteration scalar's tensor (saveIterations): free what is not a variable.
  for (const w of weights) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  return { specs, data: new Uint8Array(tf.io.concatenateArrayBuffers(data)) };
}

/** Restores state saved by {@linkcode saveOptimizerState} into a fresh optimizer of the same kind. */
export async function loadOptimizerState(optimizer: tf.Optimizer, state: OptimizerState): Promise<void> {
  const map = tf.io.decodeWeights(state.data.slice().buffer, state.specs);
  const list = state.specs.map((s) => ({ name: s.name.slice(s.name.indexOf(":") + 1), tensor: map[s.name] }));
  await optimizer.setWeights(list);
  // setWeights wraps each tensor in a new variable (sharing no data it needs from ours).
  tf.dispose(Object.values(map));
}

/**
 * One optimisation step of the paper's recipe: mean softmax cross-entropy over all digits; each
 * gradient element clipped to ±`clipValue`, then the global norm scaled to ≤ `clipNorm`; one
 * optimizer update.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { SequenceModel } from "../models/base.ts";
import { canFuseUpdate, fusedClipRmsprop } from "./fused_update.ts";

/**
 * Mean softmax cross-entropy over every (sample, step): `logits [B, S, C]`, int32 `labels [B, S]`.
 * The caller disposes the scalar.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { sequenceLoss } from "@rnnspn/core";
 * const loss = sequenceLoss(tf.zeros([2, 3, 10]), tf.zeros([2, 3], "int32")); // ln 10
 * ```
 */
export function sequenceLoss(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  if (
    logits.rank !== 3 || labels.rank !== 2 || logits.shape[0] !== labels.shape[0] ||
    logits.shape[1] !== labels.shape[1]
  ) {
    throw new Error(
      `sequenceLoss: logits must be [B, S, C] and labels [B, S]; got logits [${logits.shape}] and labels [${labels.shape}]`,
    );
  }
  return tf.tidy(() => {
    const classes = logits.shape[2]!;
    const flat = tf.reshape(logits, [-1, classes]);
    const oneHot = tf.oneHot(tf.reshape(labels.toInt(), [-1]) as tf.Tensor1D, classes);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(flat)), -1))) as tf.Scalar;
  });
}

/**
 * Clipping of {@linkcode clipGradients}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { clipGradients, type ClipOptions } from "@rnnspn/core";
 * const options: ClipOptions = { clipValue: Infinity, clipNorm: 1 }; // global-norm clipping only
 * const grads = [tf.tensor1d([3, 4]), tf.tensor1d([0])];
 * const clipped = clipGradients(grads, options); // norm 5 → 1: [0.6, 0.8] and [0]
 * ```
 */
export interface ClipOptions {
  /** Each element clipped to ±clipValue (default 1; 0 or Infinity: off). */
  clipValue?: number;
  /** Then the global L2 norm scaled down to ≤ clipNorm (default 5; 0 or Infinity: off). */
  clipNorm?: number;
}

/**
 * Element-wise clip, then global-norm clip, of `grads` (new tensors; the caller disposes them).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { clipGradients } from "@rnnspn/core";
 * const [g] = clipGradients([tf.fill([100], 2)]); // each element to 1, then norm 10 → 5: every element 0.5
 * ```
 */
export function clipGradients(grads: tf.Tensor[], options: ClipOptions = {}): tf.Tensor[] {
  const { clipValue = 1, clipNorm = 5 } = options;
  return tf.tidy(() => {
    let out = clipValue > 0 && Number.isFinite(clipValue)
      ? grads.map((g) => tf.clipByValue(g, -clipValue, clipValue))
      : grads.map((g) => g.clone());
    if (clipNorm > 0 && Number.isFinite(clipNorm)) {
      const norm = tf.sqrt(tf.addN(out.map((g) => tf.sum(tf.square(g)))));
      // scale = min(1, clipNorm / norm); a zero norm gives scale 1.
      const scale = tf.minimum(1, tf.div(clipNorm, tf.maximum(norm, 1e-12)));
      out = out.map((g) => tf.mul(g, scale));
    }
    return out;
  });
}

/** The model's trainable variables, in a fixed order (the optimizer's accumulators follow it). */
export function trainableVariables(model: SequenceModel<object>): tf.Variable[] {
  return model.model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** What {@linkcode gradientsOf} returns (tensors the caller disposes). */
export interface LossAndGradients {
  /** The loss before the update. */
  loss: tf.Scalar;
  /** ∂loss/∂variable, one per trainable variable, before clipping. */
  grads: tf.Tensor[];
}

/** Loss and raw gradients of one batch through the training forward pass (dropout on). */
export function gradientsOf(
  model: SequenceModel<object>,
  images: tf.Tensor4D,
  labels: tf.Tensor2D,
): LossAndGradients {
  const vars = trainableVariables(model);
  const { value, grads } = tf.variableGrads(
    () => sequenceLoss(model.forward(images, true).logits, labels),
    vars,
  );
  return { loss: value, grads: vars.map((v) => grads[v.name]) };
}

/** Options of {@linkcode trainStep}: clipping, and an optional micro-batch size. */
export interface StepOptions extends ClipOptions {
  /**
   * Compute the gradient in slices of at most this many sequences and sum them (weighted by size,
   * so the result is the whole batch's mean-loss gradient up to float rounding). Bounds the
   * step's memory by the slice instead of the batch: tfjs-backend-wasm's heap is limited to 2 GB,
   * which the CNN baseline or the RNN-SPN at downsample 1 outgrow at batch 100 (50 fits).
   * Default: the whole batch at once.
   */
  microBatch?: number;
}

/** Loss and gradients of the batch, summed over slices of `size` rows (see {@linkcode StepOptions}). */
function sliceGradients(
  model: SequenceModel<object>,
  images: tf.Tensor4D,
  labels: tf.Tensor2D,
  size: number,
): LossAndGradients {
  const batch = images.shape[0];
  let total: LossAndGradients | undefined;
  for (let start = 0; start < batch; start += size) {
    const rows = Math.min(size, batch - start);
    const part = tf.tidy(() => {
      const x = tf.slice(images, [start, 0, 0, 0], [rows, -1, -1, -1]);
      const y = tf.slice(labels, [start, 0], [rows, -1]);
      const { loss, grads } = gradientsOf(model, x, y);
      const w = rows / batch;
      const scaled = { loss: tf.mul(loss, w) as tf.Scalar, grads: grads.map((g) => tf.mul(g, w)) };
      if (!total) return scaled;
      return {
        loss: tf.add(total.loss, scaled.loss) as tf.Scalar,
        grads: scaled.grads.map((g, i) => tf.add(total!.grads[i], g)),
      };
    });
    if (total) tf.dispose([total.loss, ...total.grads]);
    total = part;
  }
  return total!;
}

/**
 * One training step: forward, loss, gradients, clipping, optimizer update. Returns the loss (a scalar
 * the caller disposes); everything else is freed here.
 */
export function trainStep(
  model: SequenceModel<object>,
  optimizer: tf.Optimizer,
  images: tf.Tensor4D,
  labels: tf.Tensor2D,
  clip: StepOptions = {},
): tf.Scalar {
  const vars = trainableVariables(model);
  const micro = clip.microBatch;
  if (micro !== undefined && !(Number.isInteger(micro) && micro >= 1)) {
    throw new Error(`trainStep: microBatch must be a positive integer; got ${micro}`);
  }
  const { loss, grads } = micro !== undefined && micro < images.shape[0]
    ? sliceGradients(model, images, labels, micro)
    : gradientsOf(model, images, labels);
  try {
    applyClipped(optimizer, vars, grads, clip);
  } catch (error) {
    loss.dispose();
    throw error;
  } finally {
    tf.dispose(grads);
  }
  return loss;
}

/**
 * {@linkcode clipGradients} then `optimizer.applyGradients`: fused into two WASM passes where
 * `fused_update.ts` can (the paper's RMSprop on wasm), tfjs's kernels otherwise. `grads` stay the
 * caller's.
 */
export function applyClipped(
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  grads: tf.Tensor[],
  clip: ClipOptions = {},
): void {
  const { clipValue = 1, clipNorm = 5 } = clip;
  if (canFuseUpdate(optimizer, vars, grads)) {
    fusedClipRmsprop(optimizer, vars, grads, { clipValue, clipNorm });
    return;
  }
  const clipped = clipGradients(grads, { clipValue, clipNorm });
  optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: clipped[i] })));
  tf.dispose(clipped);
}

/**
 * Evaluation: loss, per-digit error and whole-sequence error of a model on (part of) a split.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { SequenceModel } from "../models/base.ts";
import type { SplitMetrics } from "./checkpoint.ts";
import { sequenceLoss } from "./step.ts";

/** The split names a training data source has. */
export type Split = "train" | "valid" | "test";

/** One batch: the caller of `batches` owns (and disposes) both tensors. */
export interface Batch {
  /** `[B, H, W, 1]` float32. */
  images: tf.Tensor4D;
  /** `[B, digits]` int32. */
  labels: tf.Tensor2D;
}

/** What `train()` and `evaluate()` need from a data set — `ClutteredMnist` has it. */
export interface TrainingData {
  /** Number of sequences in a split. */
  size(split: Split): number;
  /** Batches of one epoch (order keyed by `epoch` when `shuffle`); `limit` uses the first samples only. */
  batches(
    split: Split,
    batchSize: number,
    options?: { shuffle?: boolean; epoch?: number; limit?: number },
  ): AsyncIterable<Batch>;
}

/**
 * Scores `model` (inference mode) on the first `limit` sequences of `split` (all by default), in
 * order, `batchSize` at a time.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, evaluate, loadMnist, loadModel, selectBackend } from "@rnnspn/core";
 * await selectBackend("wasm");
 * const model = await loadModel("runs/rnn-spn/best");
 * const data = new ClutteredMnist(await loadMnist(), { seed: 1 });
 * const { digitError, sequenceError } = await evaluate(model, data, "test");
 * ```
 */
export async function evaluate(
  model: SequenceModel<object>,
  data: TrainingData,
  split: Split,
  options: { batchSize?: number; limit?: number } = {},
): Promise<SplitMetrics> {
  const batchSize = options.batchSize ?? 100;
  const limit = Math.min(options.limit ?? Infinity, data.size(split));
  let loss = 0, digitErrors = 0, sequenceErrors = 0, digits = 0, sequences = 0;
  for await (const { images, labels } of data.batches(split, batchSize, { shuffle: false, limit })) {
    const [l, d, s] = tf.tidy(() => {
      const { logits } = model.forward(images, false);
      const wrong = tf.notEqual(tf.argMax(logits, -1).toInt(), labels.toInt()).toFloat();
      return [
        tf.mul(sequenceLoss(logits, labels), labels.size),
        tf.sum(wrong),
        tf.sum(tf.max(wrong, -1)),
      ];
    });
    const [lv, dv, sv] = await Promise.all([l.data(), d.data(), s.data()]);
    tf.dispose([l, d, s, images, labels]);
    loss += lv[0];
    digitErrors += dv[0];
    sequenceErrors += sv[0];
    digits += labels.size;
    sequences += labels.shape[0];
  }
  if (sequences === 0) return { loss: NaN, digitError: NaN, sequenceError: NaN };
  return { loss: loss / digits, digitError: digitErrors / digits, sequenceError: sequenceErrors / sequences };
}

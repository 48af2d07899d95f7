/**
 * Evaluation: loss, per-digit error and whole-sequence error of a model on (part of) a split.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { SequenceModel } from "../models/base.ts";
import type { SplitMetrics } from "./checkpoint.ts";
import { sequenceLoss } from "./step.ts";

/**
 * The split names a training data source has.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist, type Split } from "@rnnspn/core";
 * const data = new ClutteredMnist(await loadMnist());
 * const splits: Split[] = ["train", "valid", "test"];
 * for (const split of splits) console.log(split, data.size(split)); // 60000, 10000, 10000
 * ```
 */
export type Split = "train" | "valid" | "test";

/**
 * One batch: the caller of `batches` owns (and disposes) both tensors.
 *
 * @example
 * ```ts
 * import { type Batch, ClutteredMnist, loadMnist } from "@rnnspn/core";
 * const data = new ClutteredMnist(await loadMnist());
 * const batches: AsyncIterable<Batch> = data.batches("valid", 100, { shuffle: false, limit: 1000 });
 * for await (const { images, labels } of batches) {
 *   console.log(images.shape, labels.shape); // [100, 100, 100, 1] [100, 3]
 *   images.dispose();
 *   labels.dispose();
 * }
 * ```
 */
export interface Batch {
  /** `[B, H, W, 1]` float32. */
  images: tf.Tensor4D;
  /** `[B, digits]` int32. */
  labels: tf.Tensor2D;
}

/**
 * What `train()` and `evaluate()` need from a data set — `ClutteredMnist` has it.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { CnnBaseline, evaluate, type TrainingData } from "@rnnspn/core";
 * // Your own sequences in memory: 256 images of 64×64 pixels, 2 digits each (one set for every split).
 * const images = tf.randomUniform([256, 64, 64, 1]) as tf.Tensor4D;
 * const labels = tf.randomUniform([256, 2], 0, 10, "int32") as tf.Tensor2D;
 * const data: TrainingData = {
 *   size: () => 256,
 *   async *batches(_split, batchSize) {
 *     for (let i = 0; i < 256; i += batchSize) {
 *       const n = Math.min(batchSize, 256 - i);
 *       yield { images: images.slice(i, n), labels: labels.slice(i, n) };
 *     }
 *   },
 * };
 * const model = new CnnBaseline({ digits: 2, inputSize: [64, 64] });
 * console.log(await evaluate(model, data, "valid"));
 * ```
 */
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
 * const model = await loadModel("runs/rnn-spn/best", { accept: "rnnspn" });
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

/**
 * Builds a model by name and times the library's own training step on it: `trainStep` from
 * `src/train/step.ts` (the function `train()` calls) — forward, loss, backward, clipping, RMSprop
 * update — plus reading the loss back to the host, on random inputs of the real shapes.
 *
 * @module
 */
import { tf } from "../src/tf.ts";
import { RecurrentAttention } from "../src/models/recurrent_attention.ts";
import { SpnBaseline } from "../src/models/spn_baseline.ts";
import { CnnBaseline } from "../src/models/cnn_baseline.ts";
import type { SequenceModel } from "../src/models/base.ts";
import { createOptimizer } from "../src/train/optimizer.ts";
import { trainStep } from "../src/train/step.ts";

/** Model names, as the PyTorch peer spells them. */
export const MODEL_NAMES = ["rnn-spn", "spn", "cnn"] as const;
/** One of {@linkcode MODEL_NAMES}. */
export type ModelName = typeof MODEL_NAMES[number];

/** A model with its optimizer and a fixed random batch, ready to step. */
export interface StepRig {
  model: SequenceModel<object>;
  optimizer: tf.Optimizer;
  images: tf.Tensor4D;
  labels: tf.Tensor2D;
  /** One full step, loss read back; resolves to the loss. */
  step(): Promise<number>;
  dispose(): void;
}

/** Builds `name` (the paper's config, `ds` = downsample factor where it applies). */
export function buildModel(name: ModelName, ds: number): SequenceModel<object> {
  if (name === "rnn-spn") return new RecurrentAttention({ downsampleFactor: ds });
  if (name === "spn") return new SpnBaseline({ downsampleFactor: ds });
  if (name === "cnn") return new CnnBaseline();
  throw new Error(`buildModel: name must be one of ${MODEL_NAMES.join(", ")}; got ${JSON.stringify(name)}`);
}

/** A rig for `name` at downsample `ds` with `batch` random images (seeded) and labels; see `StepOptions.microBatch`. */
export function makeRig(name: ModelName, ds: number, batch: number, seed = 0, microBatch?: number): StepRig {
  const model = buildModel(name, ds);
  const optimizer = createOptimizer("rmsprop", 5e-4);
  const [h, w] = model.inputSize;
  const images = tf.randomUniform([batch, h, w, 1], 0, 1, "float32", seed) as tf.Tensor4D;
  const labels = tf.tidy(() =>
    tf.floor(tf.randomUniform([batch, model.steps], 0, 10, "float32", seed + 1)).toInt()
  ) as tf.Tensor2D;
  return {
    model,
    optimizer,
    images,
    labels,
    async step(): Promise<number> {
      const loss = trainStep(model, optimizer, images, labels, { microBatch });
      const value = (await loss.data())[0];
      loss.dispose();
      return value;
    },
    dispose(): void {
      tf.dispose([images, labels]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

/** Runs `steps` steps of `rig`, returning each one's wall time in ms. */
export async function timeSteps(rig: StepRig, steps: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const loss = await rig.step();
    times.push(performance.now() - t0);
    if (!Number.isFinite(loss)) throw new Error(`training step ${i} gave a non-finite loss (${loss})`);
  }
  return times;
}

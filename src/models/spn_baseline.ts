/**
 * `SpnBaseline`: the paper's CNN-SPN ("FFN-SPN") — one spatial transformer in front of the baseline
 * classifier. The localization CNN + dense 200 emits one θ for the whole image; the transformed
 * (down-sampled) image goes to a classifier with one head per digit.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { Glimpses } from "../layers/glimpses.ts";
import { loadSaved, SequenceModel } from "./base.ts";
import {
  affineHead,
  convStack,
  dense,
  localizationStack,
  resolveConfig,
  Seeds,
  setIdentity,
} from "./blocks.ts";
import { baselineClassifier } from "./cnn_baseline.ts";

/**
 * Config of {@linkcode SpnBaseline}; every field is optional (defaults: the paper's).
 *
 * @example
 * ```ts
 * import { selectBackend, SpnBaseline, type SpnBaselineConfig } from "@rnnspn/core";
 * await selectBackend("cpu");
 * const config: SpnBaselineConfig = { digits: 3, downsampleFactor: 2, classifierFilters: 64, seed: 1 };
 * const model = new SpnBaseline(config);
 * console.log(model.countParams());
 * ```
 */
export interface SpnBaselineConfig {
  /** Digits per sequence = output heads (default 3). */
  digits?: number;
  /** Downsampling of the transformed image: 100×100 → floor(100 / f)² (default 3 → 33×33). */
  downsampleFactor?: number;
  /** Input image size `[height, width]` (default `[100, 100]`). */
  inputSize?: [number, number];
  /** Filters of each of the three localization convolutions (default 20). */
  locFilters?: number;
  /** Units of the localization's hidden dense layer (default 200). */
  locDenseUnits?: number;
  /** Filters of each of the three classifier convolutions (default 96). */
  classifierFilters?: number;
  /** Units of the classifier's hidden dense layer (default 400). */
  denseUnits?: number;
  /** Number of classes (default 10). */
  classes?: number;
  /** Dropout rate before the classifier's dense layers (default 0: none). */
  dropout?: number;
  /** Seed of the Glorot-uniform weight initialisation (default 0). */
  seed?: number;
}

const DEFAULTS: Required<SpnBaselineConfig> = {
  digits: 3,
  downsampleFactor: 3,
  inputSize: [100, 100],
  locFilters: 20,
  locDenseUnits: 200,
  classifierFilters: 96,
  denseUnits: 400,
  classes: 10,
  dropout: 0,
  seed: 0,
};

function build(c: Required<SpnBaselineConfig>): tf.LayersModel {
  const seeds = new Seeds(c.seed);
  const images = tf.input({ shape: [c.inputSize[0], c.inputSize[1], 1], name: "images" });
  let x = convStack(images, localizationStack(c.locFilters), "loc", seeds);
  x = tf.layers.flatten({ name: "loc_flatten" }).apply(x) as tf.SymbolicTensor;
  x = dense(x, c.locDenseUnits, "relu", "loc_dense", seeds);
  const { output: thetaRow, layer: head } = affineHead(x, "loc_theta"); // [B, 6]
  const transformed = new Glimpses({ downsampleFactor: c.downsampleFactor, name: "glimpses" })
    .apply([images, thetaRow]) as tf.SymbolicTensor;
  const logits = baselineClassifier(transformed, c, seeds);
  const theta = tf.layers.reshape({ targetShape: [1, 2, 3], name: "theta" }).apply(
    thetaRow,
  ) as tf.SymbolicTensor;
  const model = tf.model({ inputs: images, outputs: [logits, theta], name: "cnn_spn" });
  setIdentity(head);
  return model;
}

/**
 * The paper's CNN-SPN baseline: one affine transform of the whole image, then a CNN with one head
 * per digit. `predict(images)` gives logits `[B, digits, 10]` and θ `[B, 1, 2, 3]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { SpnBaseline, selectBackend } from "@rnnspn/core";
 * await selectBackend("cpu");
 * const model = new SpnBaseline({ classifierFilters: 8, denseUnits: 32 });
 * const { digits, theta, logits, probabilities } = model.predict(tf.zeros([1, 100, 100, 1]));
 * console.log(digits.shape, theta?.shape); // [1, 3] [1, 1, 2, 3]
 * tf.dispose([digits, theta!, logits, probabilities]);
 * ```
 */
export class SpnBaseline extends SequenceModel<SpnBaselineConfig> {
  /** Always `"spn"`. */
  readonly kind = "spn" as const;
  /** Input image size `[height, width]`. */
  readonly inputSize: readonly [number, number];

  /**
   * Builds the model with fresh (seeded) weights; θ starts at the identity.
   *
   * @param config architecture (defaults: the paper's).
   * @param model internal: an already built LayersModel for this config (used by `load`).
   */
  constructor(config: SpnBaselineConfig = {}, model?: tf.LayersModel) {
    const c = resolveConfig(DEFAULTS, config, "SpnBaseline");
    super(c, model ?? build(c));
    this.inputSize = [c.inputSize[0], c.inputSize[1]];
  }

  /** Digits per sequence. */
  get steps(): number {
    return this.config.digits;
  }

  /** Loads a model saved with `save(dir)` (model.json + weights.bin). */
  static async load(dir: string): Promise<SpnBaseline> {
    const { model, metadata } = await loadSaved(dir, "spn");
    return new SpnBaseline(metadata.config as SpnBaselineConfig, model);
  }
}

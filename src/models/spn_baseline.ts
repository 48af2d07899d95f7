/**
 * `SpnBaseline`: the paper's CNN-SPN ("FFN-SPN") — one spatial transformer in front of the baseline
 * classifier. The localization CNN + dense 200 emits one θ for the whole image; the transformed
 * (down-sampled) image goes to a classifier with one head per digit.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { Glimpses } from "../layers/glimpses.ts";
import { SequenceModel } from "./base.ts";
import type { ModelSource } from "./io.ts";
import { loadSaved, type ModelFactory } from "./restore.ts";
import {
  affineHead,
  buildOrDispose,
  checkParams,
  checkSpnSizes,
  convStack,
  dense,
  denseParams,
  localizationStack,
  resolveConfig,
  Seeds,
  setIdentity,
  stackOutputSize,
  stackParams,
} from "./blocks.ts";
import { baselineClassifier, baselineClassifierParams } from "./cnn_baseline.ts";

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
    if (!model) checkParams(paramCount(c), "SpnBaseline");
    super(c, model ?? buildOrDispose(() => build(c)));
    this.inputSize = [c.inputSize[0], c.inputSize[1]];
  }

  /** Digits per sequence. */
  get steps(): number {
    return this.config.digits;
  }

  /**
   * Loads a model saved with `save` from a directory path, a URL (`file:`, `http(s):`, `indexeddb://`, …)
   * or a tfjs IOHandler, verified and checked against its kind and config first.
   */
  static load(source: ModelSource): Promise<SpnBaseline> {
    return loadSaved(source, [SPN_BASELINE], "spn");
  }
}

/**
 * The parameter count of config `c`, from the config alone (nothing is built), after checking that
 * its sizes fit their conv/pool stacks.
 */
function paramCount(c: Required<SpnBaselineConfig>): number {
  const [h, w] = c.inputSize;
  const [gh, gw] = checkSpnSizes(h, w, c.downsampleFactor, "SpnBaseline");
  const [lh, lw] = stackOutputSize(h, w, localizationStack(c.locFilters));
  return stackParams(localizationStack(c.locFilters), 1) +
    denseParams(lh * lw * c.locFilters, c.locDenseUnits) + denseParams(c.locDenseUnits, 6) +
    baselineClassifierParams(gh, gw, c);
}

/** How {@linkcode loadSaved} rebuilds an SpnBaseline (and where its sizes sit in the topology). */
export const SPN_BASELINE: ModelFactory<SpnBaseline> = {
  kind: "spn",
  create: (config) => new SpnBaseline(config as SpnBaselineConfig),
  paramCount: (config) => paramCount(resolveConfig(DEFAULTS, config, "SpnBaseline")),
  sizes: (read) => ({
    digits: read("logits", "target_shape", 0),
    downsampleFactor: read("glimpses", "downsample_factor"),
    inputSize: [read("images", "batch_input_shape", 1), read("images", "batch_input_shape", 2)],
    locFilters: read("loc_conv1", "filters"),
    locDenseUnits: read("loc_dense", "units"),
    classifierFilters: read("cls_conv1", "filters"),
    denseUnits: read("cls_dense", "units"),
    classes: read("cls_head1", "units"),
    dropout: read("cls_dropout1", "rate", undefined, 0),
  }),
};

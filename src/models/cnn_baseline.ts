/**
 * `CnnBaseline`: the paper's plain CNN — the CNN-SPN's classifier applied to the raw image, with one
 * dense-10 head per digit. Also home of that classifier, which `SpnBaseline` reuses.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { SequenceModel } from "./base.ts";
import {
  buildOrDispose,
  checkParams,
  checkStackFits,
  classifierStack,
  convStack,
  dense,
  denseParams,
  maybeDropout,
  resolveConfig,
  Seeds,
  stackOutputSize,
  stackParams,
} from "./blocks.ts";
import type { ModelSource } from "./io.ts";
import { loadSaved, type ModelFactory } from "./restore.ts";

/**
 * Config of {@linkcode CnnBaseline}; every field is optional (defaults: the paper's).
 *
 * @example
 * ```ts
 * import { CnnBaseline, type CnnBaselineConfig, selectBackend } from "@rnnspn/core";
 * await selectBackend("cpu");
 * const config: CnnBaselineConfig = { digits: 2, inputSize: [64, 64], classifierFilters: 32, dropout: 0.5 };
 * const model = new CnnBaseline(config);
 * console.log(model.steps); // 2
 * ```
 */
export interface CnnBaselineConfig {
  /** Digits per sequence = output heads (default 3). */
  digits?: number;
  /** Input image size `[height, width]` (default `[100, 100]`). */
  inputSize?: [number, number];
  /** Filters of each of the three convolutions (default 96). */
  classifierFilters?: number;
  /** Units of the hidden dense layer (default 400). */
  denseUnits?: number;
  /** Number of classes (default 10). */
  classes?: number;
  /** Dropout rate before the dense layers (default 0: none). */
  dropout?: number;
  /** Seed of the Glorot-uniform weight initialisation (default 0). */
  seed?: number;
}

/** The part of a config the baseline classifier reads. */
export interface ClassifierConfig {
  digits: number;
  classifierFilters: number;
  denseUnits: number;
  classes: number;
  dropout: number;
}

/**
 * The baselines' classifier: conv F → pool → conv F → pool → conv F → dense 400 (ReLU) → one
 * dense-10 head per digit, stacked into logits `[B, digits, 10]`.
 */
export function baselineClassifier(
  x: tf.SymbolicTensor,
  c: ClassifierConfig,
  seeds: Seeds,
): tf.SymbolicTensor {
  const f = c.classifierFilters;
  x = convStack(x, classifierStack(f), "cls", seeds);
  x = tf.layers.flatten({ name: "cls_flatten" }).apply(x) as tf.SymbolicTensor;
  x = maybeDropout(x, c.dropout, "cls_dropout1", seeds);
  x = dense(x, c.denseUnits, "relu", "cls_dense", seeds);
  x = maybeDropout(x, c.dropout, "cls_dropout2", seeds);
  const heads = Array.from(
    { length: c.digits },
    (_, i) => dense(x, c.classes, "linear", `cls_head${i + 1}`, seeds),
  );
  const joined = heads.length === 1
    ? heads[0]
    : tf.layers.concatenate({ axis: -1, name: "cls_heads" }).apply(heads) as tf.SymbolicTensor;
  return tf.layers.reshape({ targetShape: [c.digits, c.classes], name: "logits" }).apply(
    joined,
  ) as tf.SymbolicTensor;
}

/** Parameters of {@linkcode baselineClassifier} on an `h × w` input, from the config alone. */
export function baselineClassifierParams(h: number, w: number, c: ClassifierConfig): number {
  const f = c.classifierFilters;
  const [oh, ow] = stackOutputSize(h, w, classifierStack(f));
  return stackParams(classifierStack(f), 1) + denseParams(oh * ow * f, c.denseUnits) +
    c.digits * denseParams(c.denseUnits, c.classes);
}

const DEFAULTS: Required<CnnBaselineConfig> = {
  digits: 3,
  inputSize: [100, 100],
  classifierFilters: 96,
  denseUnits: 400,
  classes: 10,
  dropout: 0,
  seed: 0,
};

function build(c: Required<CnnBaselineConfig>): tf.LayersModel {
  const seeds = new Seeds(c.seed);
  const images = tf.input({ shape: [c.inputSize[0], c.inputSize[1], 1], name: "images" });
  const logits = baselineClassifier(images, c, seeds);
  return tf.model({ inputs: images, outputs: logits, name: "cnn" });
}

/**
 * The paper's CNN baseline: no transformer, the classifier sees the whole 100×100 image.
 * `predict(images)` gives logits `[B, digits, 10]` (and no θ).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { CnnBaseline, selectBackend } from "@rnnspn/core";
 * await selectBackend("cpu");
 * const model = new CnnBaseline({ classifierFilters: 8, denseUnits: 32 });
 * const { digits, logits, probabilities } = model.predict(tf.zeros([1, 100, 100, 1]));
 * console.log(digits.shape); // [1, 3]
 * tf.dispose([digits, logits, probabilities]);
 * ```
 */
export class CnnBaseline extends SequenceModel<CnnBaselineConfig> {
  /** Always `"cnn"`. */
  readonly kind = "cnn" as const;
  /** Input image size `[height, width]`. */
  readonly inputSize: readonly [number, number];

  /**
   * Builds the model with fresh (seeded) weights.
   *
   * @param config architecture (defaults: the paper's).
   * @param model internal: an already built LayersModel for this config (used by `load`).
   */
  constructor(config: CnnBaselineConfig = {}, model?: tf.LayersModel) {
    const c = resolveConfig(DEFAULTS, config, "CnnBaseline");
    if (!model) checkParams(paramCount(c), "CnnBaseline");
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
  static load(source: ModelSource): Promise<CnnBaseline> {
    return loadSaved(source, [CNN_BASELINE], "cnn");
  }
}

/** The parameter count of config `c`, from the config alone (nothing is built). */
function paramCount(c: Required<CnnBaselineConfig>): number {
  checkStackFits(c.inputSize[0], c.inputSize[1], classifierStack(1), "inputSize", "CnnBaseline");
  return baselineClassifierParams(c.inputSize[0], c.inputSize[1], c);
}

/** How {@linkcode loadSaved} rebuilds a CnnBaseline (and where its sizes sit in the topology). */
export const CNN_BASELINE: ModelFactory<CnnBaseline> = {
  kind: "cnn",
  create: (config) => new CnnBaseline(config as CnnBaselineConfig),
  paramCount: (config) => paramCount(resolveConfig(DEFAULTS, config, "CnnBaseline")),
  sizes: (read) => ({
    digits: read("logits", "target_shape", 0),
    inputSize: [read("images", "batch_input_shape", 1), read("images", "batch_input_shape", 2)],
    classifierFilters: read("cls_conv1", "filters"),
    denseUnits: read("cls_dense", "units"),
    classes: read("cls_head1", "units"),
    dropout: read("cls_dropout1", "rate", undefined, 0),
  }),
};

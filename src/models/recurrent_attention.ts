/**
 * `RecurrentAttention`: the paper's RNN-SPN. A localization CNN turns the whole image into one
 * feature vector; a GRU reads that same vector at each of `steps` time steps and a dense layer
 * turns each GRU output into an affine θ; each θ samples a glimpse of the image; one CNN, shared
 * across steps, classifies every glimpse.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { Glimpses } from "../layers/glimpses.ts";
import { SplitSteps } from "../layers/steps.ts";
import { type GruInit, RepeatedInputGRU } from "../layers/repeated_gru.ts";
import { SequenceModel } from "./base.ts";
import type { ModelSource } from "./io.ts";
import { loadSaved, type ModelFactory } from "./restore.ts";
import {
  affineHead,
  buildOrDispose,
  checkParams,
  checkSpnSizes,
  classifierStack,
  convStack,
  dense,
  denseParams,
  localizationStack,
  maybeDropout,
  resolveConfig,
  Seeds,
  setIdentity,
  stackOutputSize,
  stackParams,
} from "./blocks.ts";

/**
 * Config of {@linkcode RecurrentAttention}; every field is optional (defaults: the paper's).
 *
 * @example
 * ```ts
 * import { RecurrentAttention, type RecurrentAttentionConfig, selectBackend } from "@rnnspn/core";
 * await selectBackend("cpu");
 * // Two digits on 60×60 images, a smaller GRU, dropout while training.
 * const config: RecurrentAttentionConfig = { steps: 2, inputSize: [60, 60], gruUnits: 128, dropout: 0.2 };
 * const model = new RecurrentAttention(config);
 * console.log(model.config.downsampleFactor); // 3: the default
 * ```
 */
export interface RecurrentAttentionConfig {
  /** Glimpses = digits per sequence (default 3). */
  steps?: number;
  /** Glimpse downsampling: 100×100 → floor(100 / f)² (default 3 → 33×33). */
  downsampleFactor?: number;
  /** Input image size `[height, width]` (default `[100, 100]`). */
  inputSize?: [number, number];
  /** Filters of each of the three localization convolutions (default 20). */
  locFilters?: number;
  /** GRU units (default 256). */
  gruUnits?: number;
  /** Filters of each of the three classifier convolutions (default 32). */
  classifierFilters?: number;
  /** Units of the classifier's hidden dense layer (default 400). */
  denseUnits?: number;
  /** Number of classes (default 10). */
  classes?: number;
  /** Dropout rate before the classifier's dense layers (default 0: none). */
  dropout?: number;
  /** Seed of the Glorot-uniform weight initialisation (default 0). */
  seed?: number;
  /**
   * The GRU's reset gate after its recurrent product, as the authors' Lasagne layer (default false:
   * tfjs's form; see `RepeatedInputGRU`).
   */
  gruResetAfter?: boolean;
  /** The GRU's kernel initialisation: `"glorot"` (default) or the authors' `"lasagne"` Normal(0, 0.1). */
  gruInit?: GruInit;
}

const DEFAULTS: Required<RecurrentAttentionConfig> = {
  steps: 3,
  downsampleFactor: 3,
  inputSize: [100, 100],
  locFilters: 20,
  gruUnits: 256,
  classifierFilters: 32,
  denseUnits: 400,
  classes: 10,
  dropout: 0,
  seed: 0,
  gruResetAfter: false,
  gruInit: "glorot",
};

function build(c: Required<RecurrentAttentionConfig>): tf.LayersModel {
  const seeds = new Seeds(c.seed);
  const images = tf.input({ shape: [c.inputSize[0], c.inputSize[1], 1], name: "images" });
  // Localization: one feature vector per image, fed to the GRU at every step.
  let features = convStack(images, localizationStack(c.locFilters), "loc", seeds);
  features = tf.layers.flatten({ name: "loc_flatten" }).apply(features) as tf.SymbolicTensor;
  // tfjs's GRU maths by default, the authors' Lasagne form and init with the two switches
  // (docs/training.md), with the input projection computed once for all steps: see RepeatedInputGRU.
  const hidden = new RepeatedInputGRU({
    units: c.gruUnits,
    steps: c.steps,
    kernelSeed: seeds.next(),
    recurrentSeed: seeds.next(),
    resetAfter: c.gruResetAfter,
    init: c.gruInit,
    name: "loc_gru",
  }).apply(features) as tf.SymbolicTensor;
  const { output: thetaSteps, layer: head } = affineHead(hidden, "loc_theta"); // [B, steps, 6]
  const glimpses = new Glimpses({ downsampleFactor: c.downsampleFactor, name: "glimpses" })
    .apply([images, thetaSteps]) as tf.SymbolicTensor; // [B·steps, h, w, 1]
  // Classifier, shared across steps: all B·steps glimpses run as one batch.
  let x = convStack(glimpses, classifierStack(c.classifierFilters), "cls", seeds);
  x = tf.layers.flatten({ name: "cls_flatten" }).apply(x) as tf.SymbolicTensor;
  x = maybeDropout(x, c.dropout, "cls_dropout1", seeds);
  x = dense(x, c.denseUnits, "relu", "cls_dense", seeds);
  x = maybeDropout(x, c.dropout, "cls_dropout2", seeds);
  x = dense(x, c.classes, "linear", "cls_logits", seeds);
  const logits = new SplitSteps({ steps: c.steps, name: "logits" }).apply(x) as tf.SymbolicTensor;
  const theta = tf.layers.reshape({ targetShape: [c.steps, 2, 3], name: "theta" })
    .apply(thetaSteps) as tf.SymbolicTensor;
  const model = tf.model({ inputs: images, outputs: [logits, theta], name: "rnn_spn" });
  setIdentity(head);
  return model;
}

/**
 * The paper's RNN-SPN: recurrent spatial-transformer attention over a cluttered image holding a
 * sequence of digits. `predict(images)` gives logits `[B, steps, 10]` and θ `[B, steps, 2, 3]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { RecurrentAttention, selectBackend } from "@rnnspn/core";
 * await selectBackend("cpu");
 * const model = new RecurrentAttention({ steps: 3, downsampleFactor: 3 });
 * const { digits, theta, logits, probabilities } = model.predict(tf.zeros([2, 100, 100, 1]));
 * console.log(digits.shape, theta?.shape); // [2, 3] [2, 3, 2, 3]
 * tf.dispose([digits, theta!, logits, probabilities]);
 * ```
 */
export class RecurrentAttention extends SequenceModel<RecurrentAttentionConfig> {
  /** Always `"rnn-spn"`. */
  readonly kind = "rnn-spn" as const;
  /** Input image size `[height, width]`. */
  readonly inputSize: readonly [number, number];

  /**
   * Builds the model with fresh (seeded) weights; the θ layer starts at the identity.
   *
   * @param config architecture (defaults: the paper's).
   * @param model internal: an already built LayersModel for this config (used by `load`).
   */
  constructor(config: RecurrentAttentionConfig = {}, model?: tf.LayersModel) {
    const c = resolveConfig(DEFAULTS, config, "RecurrentAttention");
    if (!model) checkParams(paramCount(c), "RecurrentAttention");
    super(c, model ?? buildOrDispose(() => build(c)));
    this.inputSize = [c.inputSize[0], c.inputSize[1]];
  }

  /** Glimpses (digits) per image. */
  get steps(): number {
    return this.config.steps;
  }

  /**
   * Loads a model saved with `save` from a directory path, a URL (`file:`, `http(s):`, `indexeddb://`, …)
   * or a tfjs IOHandler, verified and checked against its kind and config first.
   */
  static load(source: ModelSource): Promise<RecurrentAttention> {
    return loadSaved(source, [RECURRENT_ATTENTION], "rnn-spn");
  }
}

/**
 * The parameter count of config `c`, from the config alone (nothing is built), after checking that
 * its sizes fit their conv/pool stacks.
 */
function paramCount(c: Required<RecurrentAttentionConfig>): number {
  const [h, w] = c.inputSize;
  const [gh, gw] = checkSpnSizes(h, w, c.downsampleFactor, "RecurrentAttention");
  const [lh, lw] = stackOutputSize(h, w, localizationStack(c.locFilters));
  const [ch, cw] = stackOutputSize(gh, gw, classifierStack(c.classifierFilters));
  const u = c.gruUnits;
  const gru = lh * lw * c.locFilters * 3 * u + u * 3 * u + 3 * u; // kernel, recurrent kernel, bias
  return stackParams(localizationStack(c.locFilters), 1) + gru + denseParams(u, 6) +
    stackParams(classifierStack(c.classifierFilters), 1) +
    denseParams(ch * cw * c.classifierFilters, c.denseUnits) + denseParams(c.denseUnits, c.classes);
}

/** How {@linkcode loadSaved} rebuilds a RecurrentAttention (and where its sizes sit in the topology). */
export const RECURRENT_ATTENTION: ModelFactory<RecurrentAttention> = {
  kind: "rnn-spn",
  create: (config) => new RecurrentAttention(config as RecurrentAttentionConfig),
  paramCount: (config) => paramCount(resolveConfig(DEFAULTS, config, "RecurrentAttention")),
  sizes: (read) => ({
    steps: read("logits", "steps"),
    downsampleFactor: read("glimpses", "downsample_factor"),
    inputSize: [read("images", "batch_input_shape", 1), read("images", "batch_input_shape", 2)],
    locFilters: read("loc_conv1", "filters"),
    gruUnits: read("loc_gru", "units"),
    classifierFilters: read("cls_conv1", "filters"),
    denseUnits: read("cls_dense", "units"),
    classes: read("cls_logits", "units"),
    dropout: read("cls_dropout1", "rate", undefined, 0),
    // Left out of the layer's config at their defaults (files from before the switches have neither).
    gruResetAfter: read("loc_gru", "resetAfter") ?? false,
    gruInit: read("loc_gru", "init") ?? "glorot",
  }),
};

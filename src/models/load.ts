/**
 * Building or loading any of the three models by kind — what the training CLI and the evaluator use.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { METADATA_KEY, type ModelKind, SequenceModel } from "./base.ts";
import { CNN_BASELINE, CnnBaseline, type CnnBaselineConfig } from "./cnn_baseline.ts";
import { describeSource, loadArtifacts, type ModelSource } from "./io.ts";
import {
  RECURRENT_ATTENTION,
  RecurrentAttention,
  type RecurrentAttentionConfig,
} from "./recurrent_attention.ts";
import { checkSource, restoreModel } from "./restore.ts";
import { SPN_BASELINE, SpnBaseline, type SpnBaselineConfig } from "./spn_baseline.ts";

/**
 * Any of the three models.
 *
 * @example
 * ```ts
 * import { type AnyModel, loadModel, selectBackend } from "@rnnspn/core";
 * await selectBackend("wasm");
 * const model: AnyModel = await loadModel("runs/rnn-spn/best", { accept: "rnnspn" });
 * // Narrowing on `kind` gives the concrete class and its config type.
 * if (model.kind === "rnn-spn") console.log("glimpses:", model.config.steps);
 * ```
 */
export type AnyModel = RecurrentAttention | SpnBaseline | CnnBaseline;

/**
 * Every model kind, in the paper's order.
 *
 * @example
 * ```ts
 * import { createModel, MODEL_KINDS, selectBackend } from "@rnnspn/core";
 * await selectBackend("cpu");
 * for (const kind of MODEL_KINDS) {
 *   const model = createModel(kind);
 *   console.log(kind, model.countParams());
 *   model.dispose();
 * }
 * ```
 */
export const MODEL_KINDS: readonly ModelKind[] = ["rnn-spn", "spn", "cnn"];

/**
 * Builds a fresh model of `kind` (config fields a kind does not know are an error).
 *
 * @example
 * ```ts
 * import { createModel, selectBackend } from "@rnnspn/core";
 * await selectBackend("cpu");
 * const model = createModel("spn", { digits: 3, downsampleFactor: 2 });
 * console.log(model.countParams());
 * ```
 */
export function createModel(
  kind: ModelKind,
  config: RecurrentAttentionConfig | SpnBaselineConfig | CnnBaselineConfig = {},
): AnyModel {
  if (kind === "rnn-spn") return new RecurrentAttention(config as RecurrentAttentionConfig);
  if (kind === "spn") return new SpnBaseline(config as SpnBaselineConfig);
  if (kind === "cnn") return new CnnBaseline(config as CnnBaselineConfig);
  throw new Error(`createModel: kind must be one of ${MODEL_KINDS.join(", ")}; got ${JSON.stringify(kind)}`);
}

/**
 * What {@linkcode loadModel} gives back: one of this library's models for a file saved by it, or the
 * plain `tf.LayersModel` for any other saved LayersModel (a user's own, say a `tf.sequential` with a
 * `SpatialTransformer` in it). {@linkcode isRnnspnModel} tells them apart.
 *
 * @example
 * ```ts
 * import { isRnnspnModel, type LoadedModel, loadModel } from "@rnnspn/core";
 * const model: LoadedModel = await loadModel("runs/my-stn");
 * if (isRnnspnModel(model)) console.log(model.kind);
 * else console.log(model.layers.length, "layers");
 * ```
 */
export type LoadedModel = AnyModel | tf.LayersModel;

/**
 * Options of {@linkcode loadModel}.
 *
 * @example
 * ```ts
 * import { loadModel, type LoadModelOptions } from "@rnnspn/core";
 * const options: LoadModelOptions = { accept: "rnnspn" }; // a foreign model is then an error
 * const model = await loadModel("runs/rnn-spn/best", { accept: "rnnspn" }); // typed AnyModel
 * ```
 */
export interface LoadModelOptions {
  /**
   * `"any"` (default): any saved LayersModel; one without this library's metadata comes back as the
   * `tf.LayersModel` tfjs builds from it. `"rnnspn"`: only this library's models (typed
   * {@linkcode AnyModel}); any other file is refused with an error that says so.
   */
  accept?: "any" | "rnnspn";
}

/**
 * Whether `model` is one of this library's models (not a plain `tf.LayersModel`).
 *
 * @example
 * ```ts
 * import { isRnnspnModel, loadModel } from "@rnnspn/core";
 * const model = await loadModel("runs/somewhere");
 * console.log(isRnnspnModel(model) ? model.kind : "a tf.LayersModel");
 * ```
 */
export function isRnnspnModel(model: LoadedModel): model is AnyModel {
  return model instanceof SequenceModel;
}

/**
 * Loads the model `source` holds: a directory path (Deno, Node); a URL — `file:` (read through the
 * file system), `http(s):` (fetch; the URL of `model.json` or of the folder holding it), or one tfjs's
 * router knows (`indexeddb://`, `localstorage://`); or any `tf.io.IOHandler`.
 *
 * A file saved by this library (`save`) comes back as its model (a {@linkcode RecurrentAttention},
 * {@linkcode SpnBaseline} or {@linkcode CnnBaseline}), rebuilt from its kind and config; any other
 * LayersModel as the `tf.LayersModel` tfjs builds from it — unless `options.accept` is `"rnnspn"`,
 * which refuses it and types the result {@linkcode AnyModel}.
 *
 * `manifest.json` (length + SHA-256 of `model.json` and `weights.bin`) is checked where the route has
 * files and there is one; the weights are checked against the record in `model.json` when it has one,
 * and the topology's structure always, before anything is built. For this library's models the
 * topology must also equal a model rebuilt from the saved kind and config, before any weight is set:
 * a damaged file fails with an error naming it and what is wrong.
 *
 * @example
 * ```ts
 * import { loadModel, selectBackend } from "@rnnspn/core";
 * await selectBackend("wasm");
 * const model = await loadModel("runs/rnn-spn/best", { accept: "rnnspn" }); // RecurrentAttention, SpnBaseline or CnnBaseline
 * console.log(model.kind, model.config);
 * // The same from a URL: relative to this module in a checkout (file:) or on a web server (https:).
 * const again = await loadModel(new URL("./runs/rnn-spn/best/", import.meta.url));
 * // A user's own tf.sequential, saved with model.save("file://runs/my-stn"): a tf.LayersModel.
 * const mine = await loadModel("runs/my-stn");
 * ```
 *
 * @param source where the model is.
 * @param options which models to accept.
 * @returns the model.
 */
export function loadModel(
  source: ModelSource,
  options: LoadModelOptions & { accept: "rnnspn" },
): Promise<AnyModel>;
/**
 * Loads any saved LayersModel (see the overload above): this library's models as themselves, any other
 * as a `tf.LayersModel`.
 *
 * @example
 * ```ts
 * import { isRnnspnModel, loadModel } from "@rnnspn/core";
 * const model = await loadModel("runs/my-stn"); // AnyModel | tf.LayersModel
 * if (!isRnnspnModel(model)) model.summary();
 * ```
 *
 * @param source where the model is.
 * @param options which models to accept (default: any).
 * @returns the model.
 */
export function loadModel(source: ModelSource, options?: LoadModelOptions): Promise<LoadedModel>;
export async function loadModel(source: ModelSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const accept = options?.accept ?? "any";
  if (accept !== "any" && accept !== "rnnspn") {
    throw new Error(`loadModel: options.accept must be "any" or "rnnspn"; got ${JSON.stringify(accept)}`);
  }
  checkSource(source);
  const artifacts = await loadArtifacts(source);
  const meta = (artifacts.userDefinedMetadata as Record<string, unknown> | undefined)?.[METADATA_KEY];
  if (meta == null && accept === "any") {
    // Not saved by this library: tfjs builds it (after loadArtifacts checked the files and the topology).
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  }
  return restoreModel<AnyModel>(artifacts, describeSource(source), [
    RECURRENT_ATTENTION,
    SPN_BASELINE,
    CNN_BASELINE,
  ]);
}

/**
 * Building or loading any of the three models by kind — what the training CLI and the evaluator use.
 *
 * @module
 */
import type { ModelKind } from "./base.ts";
import { CNN_BASELINE, CnnBaseline, type CnnBaselineConfig } from "./cnn_baseline.ts";
import type { ModelSource } from "./io.ts";
import {
  RECURRENT_ATTENTION,
  RecurrentAttention,
  type RecurrentAttentionConfig,
} from "./recurrent_attention.ts";
import { loadSaved } from "./restore.ts";
import { SPN_BASELINE, SpnBaseline, type SpnBaselineConfig } from "./spn_baseline.ts";

/**
 * Any of the three models.
 *
 * @example
 * ```ts
 * import { type AnyModel, loadModel, selectBackend } from "@rnnspn/core";
 * await selectBackend("wasm");
 * const model: AnyModel = await loadModel("runs/rnn-spn/best");
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
 * Loads whichever model `source` holds (saved with `save`): a directory path (Deno, Node); a URL —
 * `file:` (read through the file system), `http(s):` (fetch; the URL of `model.json` or of the folder
 * holding it), or one tfjs's router knows (`indexeddb://`, `localstorage://`); or any `tf.io.IOHandler`.
 * `manifest.json` (length + SHA-256 of `model.json` and `weights.bin`) is checked where the route has
 * files; on every route the weights are checked against the record in `model.json`, and the topology
 * against a model rebuilt from the saved kind and config, before any weight is set: a damaged file
 * fails with an error naming it and what is wrong. Files saved before manifests existed load too, with
 * every check except the manifest's.
 *
 * @example
 * ```ts
 * import { loadModel, selectBackend } from "@rnnspn/core";
 * await selectBackend("wasm");
 * const model = await loadModel("runs/rnn-spn/best"); // RecurrentAttention, SpnBaseline or CnnBaseline
 * console.log(model.kind, model.config);
 * // The same from a URL: relative to this module in a checkout (file:) or on a web server (https:).
 * const again = await loadModel(new URL("./runs/rnn-spn/best/", import.meta.url));
 * ```
 */
export function loadModel(source: ModelSource): Promise<AnyModel> {
  return loadSaved<AnyModel>(source, [RECURRENT_ATTENTION, SPN_BASELINE, CNN_BASELINE]);
}

/**
 * Building or loading any of the three models by kind — what the training CLI and the evaluator use.
 *
 * @module
 */
import { loadSaved, type ModelKind } from "./base.ts";
import { CnnBaseline, type CnnBaselineConfig } from "./cnn_baseline.ts";
import { RecurrentAttention, type RecurrentAttentionConfig } from "./recurrent_attention.ts";
import { SpnBaseline, type SpnBaselineConfig } from "./spn_baseline.ts";

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
 * Loads whichever model `dir` holds (saved with `save(dir)`).
 *
 * @example
 * ```ts
 * import { loadModel, selectBackend } from "@rnnspn/core";
 * await selectBackend("wasm");
 * const model = await loadModel("runs/rnn-spn/best"); // RecurrentAttention, SpnBaseline or CnnBaseline
 * console.log(model.kind, model.config);
 * ```
 */
export async function loadModel(dir: string): Promise<AnyModel> {
  const { model, metadata } = await loadSaved(dir);
  switch (metadata.kind) {
    case "rnn-spn":
      return new RecurrentAttention(metadata.config as RecurrentAttentionConfig, model);
    case "spn":
      return new SpnBaseline(metadata.config as SpnBaselineConfig, model);
    case "cnn":
      return new CnnBaseline(metadata.config as CnnBaselineConfig, model);
  }
  model.dispose();
  throw new Error(`loadModel: ${dir} holds an unknown model kind ${JSON.stringify(metadata.kind)}`);
}

/**
 * The pretrained RNN-SPN: the best epoch of this library's RNN-SPN DS 3 reproduction row with the lowest
 * validation error (`results/`), stored as float16 beside this module and fetched relative to it, so the
 * same call works from a checkout, from the published package, in Node and in a browser.
 *
 * @module
 */
import { loadModel } from "./load.ts";
import type { ModelSource } from "./io.ts";
import { RecurrentAttention } from "./recurrent_attention.ts";

/**
 * Where the pretrained model's `model.json` lives: beside this module (a `file:` URL in a checkout, the
 * package's `https:` URL when imported from JSR, the bundle's folder in `dist/browser/`).
 *
 * @example
 * ```ts
 * import { PRETRAINED_URL } from "@rnnspn/core";
 * console.log(PRETRAINED_URL.href); // …/pretrained/rnn-spn-ds3/model.json
 * ```
 */
export const PRETRAINED_URL: URL = new URL("./pretrained/rnn-spn-ds3/model.json", import.meta.url);

/**
 * Options of {@linkcode loadPretrained}.
 *
 * @example
 * ```ts
 * import { loadPretrained, type PretrainedOptions } from "@rnnspn/core";
 * const options: PretrainedOptions = { source: "https://example.com/rnnspn/rnn-spn-ds3/model.json" };
 * const model = await loadPretrained(options);
 * ```
 */
export interface PretrainedOptions {
  /**
   * Where to load it from instead of {@linkcode PRETRAINED_URL}: a URL, a directory, or a tfjs IO handler
   * (e.g. `indexeddb://rnnspn` after saving it there once).
   */
  source?: ModelSource;
}

/**
 * Loads the pretrained RNN-SPN (DS 3, 3 steps): a ready {@linkcode RecurrentAttention} on the active
 * backend. Which row and epoch it is, and its test error, are in `pretrained/rnn-spn-ds3.json` beside this
 * module and in the README's results table.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist, loadPretrained, selectBackend } from "@rnnspn/core";
 * await selectBackend();
 * const model = await loadPretrained();
 * const data = new ClutteredMnist(await loadMnist(), { seed: 1 });
 * const { images, labels } = data.batch("test", [0, 1, 2, 3]);
 * const { digits, theta } = model.predict(images); // [4, 3] digits, [4, 3, 2, 3] transforms
 * console.log(await digits.array(), await labels.array());
 * ```
 */
export async function loadPretrained(options: PretrainedOptions = {}): Promise<RecurrentAttention> {
  const source = options.source ?? PRETRAINED_URL;
  const model = await loadModel(source, { accept: "rnnspn" });
  if (!(model instanceof RecurrentAttention)) {
    model.dispose();
    throw new Error(`loadPretrained: expected an RNN-SPN (rnn-spn) model, got ${model.kind} from ${source}`);
  }
  return model;
}

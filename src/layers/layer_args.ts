/**
 * Splitting a sampler layer's config into the base layer's arguments and the sampler's options, so
 * that the layers pass every sampler option on to `spatialTransform` as given (including options this
 * module does not know of) and save exactly those in their config.
 *
 * @module
 */

/** The keys of a config that are tfjs's `LayerArgs`, not the sampler's. */
const LAYER_KEYS = new Set([
  "name",
  "trainable",
  "dtype",
  "inputShape",
  "batchInputShape",
  "batchSize",
  "inputDType",
  "weights",
]);

/** A config split by {@linkcode splitLayerArgs}. */
export interface SplitArgs {
  /** tfjs's layer arguments (name, trainable, input shape, …). */
  layerArgs: Record<string, unknown>;
  /** Everything else that is not null: the sampler's options. */
  options: Record<string, unknown>;
  /** The keys named in `own`, taken out of both. */
  own: Record<string, unknown>;
}

/**
 * Splits `args` into layer arguments, sampler options and the keys `own` (the layer's own, such as a
 * localisation network). `customObjects`, which tfjs's deserializer adds to every config it reads, and
 * null values (a reloaded config's absent options) are dropped.
 *
 * @example
 * ```ts
 * import { splitLayerArgs } from "./layer_args.ts";
 * const { layerArgs, options } = splitLayerArgs({ name: "st", outputSize: [8, 8], mode: null });
 * console.log(layerArgs, options); // { name: "st" } { outputSize: [8, 8] }
 * ```
 */
export function splitLayerArgs(args: object | null | undefined, own: readonly string[] = []): SplitArgs {
  const split: SplitArgs = { layerArgs: {}, options: {}, own: {} };
  for (const [key, value] of Object.entries(args ?? {})) {
    if (own.includes(key)) split.own[key] = value;
    else if (key === "customObjects") continue;
    else if (LAYER_KEYS.has(key)) split.layerArgs[key] = value;
    else if (value != null) split.options[key] = value;
  }
  return split;
}

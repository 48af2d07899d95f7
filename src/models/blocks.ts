/**
 * Building blocks shared by the three models: the paper's conv/pool stacks (3×3 "valid" convolutions
 * with ReLU, 2×2 max pools, Glorot-uniform weights) and dense layers, each initialised from an
 * explicit seed so that the same config builds the same weights in any runtime.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { FastConv2D } from "../layers/fast_conv2d.ts";

/** One element of a stack: a 3×3 valid ReLU convolution with that many filters, or a 2×2 max pool. */
export type StackItem = number | "pool";

/** Hands out consecutive seeds so every layer's initialiser gets its own, reproducibly. */
export class Seeds {
  #next: number;
  constructor(seed: number) {
    this.#next = seed >>> 0;
  }
  /** The next seed. */
  next(): number {
    return this.#next++;
  }
}

/** Glorot-uniform initialiser with a fixed seed. */
export function glorot(seeds: Seeds): ReturnType<typeof tf.initializers.glorotUniform> {
  return tf.initializers.glorotUniform({ seed: seeds.next() });
}

/** Applies a conv/pool stack to `x`; layers are named `${prefix}_conv<i>` / `${prefix}_pool<i>`. */
export function convStack(
  x: tf.SymbolicTensor,
  items: readonly StackItem[],
  prefix: string,
  seeds: Seeds,
): tf.SymbolicTensor {
  let convs = 0;
  let pools = 0;
  for (const item of items) {
    if (item === "pool") {
      x = tf.layers.maxPooling2d({
        poolSize: 2,
        strides: 2,
        padding: "valid",
        name: `${prefix}_pool${++pools}`,
      })
        .apply(x) as tf.SymbolicTensor;
    } else {
      // A Conv2D (same weights, config and saved format) whose ReLU trains fused: see FastConv2D.
      x = new FastConv2D({
        filters: item,
        kernelSize: 3,
        padding: "valid",
        activation: "relu",
        kernelInitializer: glorot(seeds),
        name: `${prefix}_conv${++convs}`,
      }).apply(x) as tf.SymbolicTensor;
    }
  }
  return x;
}

/** A dense layer with Glorot-uniform weights and zero bias. */
export function dense(
  x: tf.SymbolicTensor,
  units: number,
  activation: "relu" | "linear",
  name: string,
  seeds: Seeds,
): tf.SymbolicTensor {
  return tf.layers.dense({ units, activation, kernelInitializer: glorot(seeds), name }).apply(
    x,
  ) as tf.SymbolicTensor;
}

/** Dropout when `rate > 0`, else `x` unchanged (so a rate of 0 adds no layer and no weights). */
export function maybeDropout(
  x: tf.SymbolicTensor,
  rate: number,
  name: string,
  seeds: Seeds,
): tf.SymbolicTensor {
  if (!(rate > 0)) return x;
  // No seed: a tfjs Dropout layer with a fixed seed draws the same mask at every call.
  void seeds;
  return tf.layers.dropout({ rate, name }).apply(x) as tf.SymbolicTensor;
}

/**
 * The dense layer that emits the 6 affine parameters: zero weights, bias = identity [1,0,0,0,1,0], so
 * that every transform starts as the identity (the paper's initialisation).
 */
export function affineHead(
  x: tf.SymbolicTensor,
  name: string,
): { output: tf.SymbolicTensor; layer: tf.layers.Layer } {
  const layer = tf.layers.dense({
    units: 6,
    kernelInitializer: "zeros",
    biasInitializer: "zeros",
    name,
  });
  const output = layer.apply(x) as tf.SymbolicTensor;
  return { output, layer };
}

/** Sets an {@linkcode affineHead} layer's weights to zero and its bias to the identity transform. */
export function setIdentity(layer: tf.layers.Layer): void {
  const [kernel] = layer.getWeights();
  const zeros = tf.zerosLike(kernel);
  const bias = tf.tensor1d([1, 0, 0, 0, 1, 0]);
  layer.setWeights([zeros, bias]);
  tf.dispose([zeros, bias]);
}

/** Spatial size after a conv/pool stack on an `h × w` input (valid convs: −2, pools: floor ÷2). */
export function stackOutputSize(h: number, w: number, items: readonly StackItem[]): [number, number] {
  for (const item of items) {
    if (item === "pool") {
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
    } else {
      h -= 2;
      w -= 2;
    }
  }
  return [h, w];
}

/**
 * The largest value of each integer config field. Far above the paper's (3 steps, 256 GRU units, 96
 * filters, 100×100 inputs), low enough that no config read from a file can ask for gigabytes before
 * its weights are compared (the parameter count has its own bound, {@linkcode MAX_PARAMS}).
 */
export const CONFIG_LIMITS: Readonly<Record<string, number>> = {
  steps: 64,
  digits: 64,
  classes: 10_000,
  locFilters: 1024,
  classifierFilters: 1024,
  gruUnits: 8192,
  locDenseUnits: 8192,
  denseUnits: 8192,
  inputSize: 4096,
};

/** The most parameters a model may have (64 Mi: 256 MiB of float32 weights; the paper's largest has 17 M). */
export const MAX_PARAMS: number = 64 * 2 ** 20;

/** Checks a positive integer config value (at most `CONFIG_LIMITS[name]` where there is one). */
export function positiveInt(value: number, name: string, where: string): number {
  const max = CONFIG_LIMITS[name.replace(/\[\d+\]$/, "")];
  if (!Number.isInteger(value) || value < 1 || (max !== undefined && value > max)) {
    const range = max === undefined ? "a positive integer" : `an integer in [1, ${max}]`;
    throw new Error(`${where}: ${name} must be ${range}; got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

/** Parameters of a conv/pool stack on `channels` input channels (3×3 kernels plus biases). */
export function stackParams(items: readonly StackItem[], channels: number): number {
  let params = 0;
  for (const item of items) {
    if (item === "pool") continue;
    params += 9 * channels * item + item;
    channels = item;
  }
  return params;
}

/** Parameters of a dense layer (kernel plus bias). */
export function denseParams(inputs: number, units: number): number {
  return inputs * units + units;
}

/**
 * Throws when `params` (a config's parameter count, computed before anything is built) exceeds
 * {@linkcode MAX_PARAMS}.
 */
export function checkParams(params: number, where: string): number {
  if (!(params <= MAX_PARAMS)) {
    throw new Error(
      `${where}: this config has ${params} parameters, more than the ${MAX_PARAMS} a model may have`,
    );
  }
  return params;
}

/** Fills defaults into `config` and checks the shared fields; `where` names the model in errors. */
export function resolveConfig<C extends object>(
  defaults: Required<C>,
  config: C,
  where: string,
): Required<C> {
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new Error(`${where}: config must be an object; got ${JSON.stringify(config)}`);
  }
  const unknown = Object.keys(config).filter((key) => !Object.hasOwn(defaults, key));
  if (unknown.length > 0) {
    throw new Error(
      `${where}: unknown config key${unknown.length > 1 ? "s" : ""} ${
        unknown.map((k) => `"${k}"`).join(", ")
      }; ` +
        `known: ${Object.keys(defaults).join(", ")}`,
    );
  }
  const c = {
    ...defaults,
    ...Object.fromEntries(Object.entries(config ?? {}).filter(([, v]) => v !== undefined)),
  } as Required<C>;
  const rec = c as Record<string, unknown>;
  for (const [key, value] of Object.entries(rec)) {
    if (["seed", "dropout", "inputSize", "downsampleFactor", "gruResetAfter", "gruInit"].includes(key)) {
      continue;
    }
    positiveInt(value as number, key, where);
  }
  const inputSize = rec.inputSize as number[];
  if (!Array.isArray(inputSize) || inputSize.length !== 2) {
    throw new Error(`${where}: inputSize must be [height, width]; got ${JSON.stringify(inputSize)}`);
  }
  inputSize.forEach((v, i) => positiveInt(v, `inputSize[${i}]`, where));
  const dropout = rec.dropout as number;
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`${where}: dropout must be in [0, 1); got ${dropout}`);
  if (!Number.isInteger(rec.seed)) throw new Error(`${where}: seed must be an integer; got ${rec.seed}`);
  return c;
}

/** The localization network's conv/pool stack (the paper's: pool, then three 3×3 convs with pools between). */
export function localizationStack(filters: number): StackItem[] {
  return ["pool", filters, "pool", filters, "pool", filters];
}

/**
 * Checks that a conv/pool stack leaves at least one pixel of an `h × w` input, so that a config too
 * small for its stack fails with the numbers, before any weight is made.
 */
export function checkStackFits(
  h: number,
  w: number,
  items: readonly StackItem[],
  what: string,
  where: string,
): void {
  const [oh, ow] = stackOutputSize(h, w, items);
  if (!(oh >= 1 && ow >= 1)) {
    throw new Error(
      `${where}: ${what} is ${h}×${w}, too small for its conv/pool stack (it would leave ${oh}×${ow} pixels)`,
    );
  }
}

/**
 * The glimpse size of `downsampleFactor` on an `h × w` image, after checking that the factor is a
 * finite number > 0 (`where` names the model in the error).
 */
export function checkGlimpse(
  h: number,
  w: number,
  downsampleFactor: number,
  where: string,
): [number, number] {
  if (typeof downsampleFactor !== "number" || !Number.isFinite(downsampleFactor) || !(downsampleFactor > 0)) {
    throw new Error(
      `${where}: downsampleFactor must be a finite number > 0; got ${JSON.stringify(downsampleFactor)}`,
    );
  }
  return glimpseSize(h, w, downsampleFactor);
}

/**
 * The glimpse size of a spatial-transformer model (RNN-SPN, CNN-SPN) on an `h × w` image, after checking
 * that the image fits the localisation stack, the factor is valid and the glimpse fits the classifier
 * stack (`where` names the model in errors).
 */
export function checkSpnSizes(
  h: number,
  w: number,
  downsampleFactor: number,
  where: string,
): [number, number] {
  checkStackFits(h, w, localizationStack(1), "inputSize", where);
  const [gh, gw] = checkGlimpse(h, w, downsampleFactor, where);
  checkStackFits(gh, gw, classifierStack(1), `the glimpse (downsampleFactor ${downsampleFactor})`, where);
  return [gh, gw];
}

/** The glimpse size the sampler gives for `downsampleFactor` on an `h × w` image (floor(h / f)). */
export function glimpseSize(h: number, w: number, downsampleFactor: number): [number, number] {
  return [Math.floor(h / downsampleFactor), Math.floor(w / downsampleFactor)];
}

/**
 * Runs `build`; if it throws, disposes every variable it created (layers built before the failing one
 * already hold their weights), then rethrows.
 */
export function buildOrDispose<T>(build: () => T): T {
  const before = new Set(Object.keys(tf.engine().registeredVariables));
  try {
    return build();
  } catch (err) {
    for (const [name, variable] of Object.entries(tf.engine().registeredVariables)) {
      if (!before.has(name)) variable.dispose();
    }
    throw err;
  }
}

/** The classifier's conv/pool stack (the paper's: conv, pool, conv, pool, conv). */
export function classifierStack(filters: number): StackItem[] {
  return [filters, "pool", filters, "pool", filters];
}

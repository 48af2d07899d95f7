/**
 * `ClutteredMnist`: the cluttered MNIST digit-sequence task of Sønderby et al. (2015), generated on demand.
 *
 * Nothing per sample is stored: sample `i` of a split is a pure function of (seed, split, i), drawn from its
 * own xoshiro128** stream keyed by `hashWords(seed, SAMPLE, split, i)`, so a batch is rendered when it is
 * asked for and the default 80,000 sequences cost no memory beyond MNIST itself and the 8 MB clutter bank.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { Mnist } from "./mnist.ts";
import { hashWords, Xoshiro128 } from "./prng.ts";
import { buildClutterBank, DIGIT, type DigitPlacement, renderSample, type SampleRecipe } from "./render.ts";

export type { DigitPlacement, SampleRecipe } from "./render.ts";

/**
 * A split of the cluttered data set: its digits come from disjoint MNIST pools.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist } from "@rnnspn/core";
 * const ds = new ClutteredMnist(await loadMnist());
 * for (const split of ["train", "valid", "test"] as const) console.log(split, ds.size(split));
 * ```
 */
export type ClutteredSplit = "train" | "valid" | "test";

/**
 * Options of {@linkcode ClutteredMnist}; every default is the paper's.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist } from "@rnnspn/core";
 * const small = new ClutteredMnist(await loadMnist(), { seed: 1, sizes: { train: 1000 }, clutter: 4 });
 * ```
 */
export interface ClutteredMnistOptions {
  /** Seed (uint32) of every random choice. Default 0. */
  seed?: number;
  /** Number of sequences per split. Default 60,000 / 10,000 / 10,000. */
  sizes?: { train?: number; valid?: number; test?: number };
  /** Canvas height and width in pixels. Default 100. */
  canvas?: number;
  /** Digits per sequence (k). Default 3. */
  digits?: number;
  /** Clutter patches per image. Default 8. */
  clutter?: number;
  /** Side of a square clutter patch. Default 9. */
  patch?: number;
  /** Number of patches in the clutter bank. Default 100,000. */
  bankSize?: number;
  /** The slope is uniform in [−maxSlope, maxSlope − 1]. Default 14. */
  maxSlope?: number;
  /**
   * Fresh training sequences every epoch (beyond the paper, which trained on one fixed set): epoch `e` of
   * `batches("train", …)` renders samples `e·size … e·size + size − 1` of the endless train stream, so
   * epoch 0 is the fixed set (the one `sample`, `batch` and unshuffled evaluation see) and every later
   * epoch is new data at no cost. Valid and test never change. Default false.
   */
  freshEpochs?: boolean;
}

/**
 * One rendered sample.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist } from "@rnnspn/core";
 * const ds = new ClutteredMnist(await loadMnist());
 * const { image, labels } = ds.sample("valid", 0); // Float32Array(100 * 100), Int32Array(3)
 * ```
 */
export interface ClutteredSample {
  /** `canvas²` pixels in [0, 1], row-major. */
  image: Float32Array;
  /** The `digits` labels, left to right. */
  labels: Int32Array;
}

/**
 * Options of {@linkcode ClutteredMnist.batches}.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist } from "@rnnspn/core";
 * const ds = new ClutteredMnist(await loadMnist());
 * // Resume epoch 3 at its 100th batch, over the first 10,000 training sequences.
 * const it = ds.batches("train", 64, { epoch: 3, start: 100, limit: 10000 });
 * ```
 */
export interface BatchOptions {
  /** Visit the samples in a permutation derived from (seed, split, epoch). Default true. */
  shuffle?: boolean;
  /** Epoch number, which picks the permutation. Default 0. */
  epoch?: number;
  /** First batch to yield (to resume mid-epoch). Default 0. */
  start?: number;
  /** Use only the split's first `limit` samples (before shuffling). Default: all. */
  limit?: number;
  /** Skip a last batch smaller than `batchSize`. Default false. */
  dropRemainder?: boolean;
}

/**
 * One batch; the caller owns (and disposes) both tensors.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist } from "@rnnspn/core";
 * const ds = new ClutteredMnist(await loadMnist());
 * const { images, labels, indices } = ds.batch("test", [0, 1, 2]);
 * images.dispose();
 * labels.dispose();
 * ```
 */
export interface ClutteredBatch {
  /** `[B, canvas, canvas, 1]` float32 pixels in [0, 1]. */
  images: tf.Tensor4D;
  /** `[B, digits]` int32 labels, left to right. */
  labels: tf.Tensor2D;
  /** The split's sample indices in this batch (with `freshEpochs`, positions in the endless train stream). */
  indices: Uint32Array;
}

const VALID_DIGITS = 10000;
const SPLIT_CODE: Record<ClutteredSplit, number> = { train: 0, valid: 1, test: 2 };
// Purposes keep the bank, sample and shuffle streams independent under one seed.
const BANK = 1, SAMPLE = 2, SHUFFLE = 3;

/**
 * The cluttered MNIST sequence data set: each 100×100 image holds 3 MNIST digits on a sloped line and 8
 * 9×9 clutter patches cropped from other digits; the labels are the digits left to right.
 *
 * Procedure (Sønderby et al., 2015, as published with their code), per sample: k digits drawn uniformly
 * with replacement from the split's pool (train = MNIST train 0..49999, valid = 50000..59999, test =
 * t10k); `base = (canvas − 28k) div 2`, `xOff = base + uniform[−base, base − 1]`;
 * `yOff = uniform[0, canvas − 1]`; `slope = uniform[−14, 13]`; digit i goes to columns `28i + xOff` and
 * rows `yOff + i·slope`, shifted into the canvas. Then 8 patches of the shared 100,000-patch bank (each a
 * 9×9 crop at offsets 0..18 of a train+valid digit) are written at top-left corners uniform in
 * [0, canvas − 10]² (0..90) onto a separate canvas, which is added to the digits and clipped to [0, 1].
 * Draw order per sample: the k pool indices, the x jitter, yOff, slope, then per patch its bank id, x, y.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist } from "@rnnspn/core";
 * const ds = new ClutteredMnist(await loadMnist(), { seed: 1 });
 * const { image, labels } = ds.sample("train", 0); // Float32Array(10000), Int32Array(3)
 * for await (const { images, labels } of ds.batches("train", 64, { epoch: 0 })) {
 *   // images: [64, 100, 100, 1] float32, labels: [64, 3] int32
 *   images.dispose();
 *   labels.dispose();
 * }
 * ```
 */
export class ClutteredMnist {
  /** The resolved options. */
  readonly config: Readonly<Required<Omit<ClutteredMnistOptions, "sizes">>> & {
    readonly sizes: Readonly<Record<ClutteredSplit, number>>;
  };
  readonly #mnist: Mnist;
  readonly #bank: Uint8Array;

  /** Builds the clutter bank (100,000 9×9 crops, ~8 MB) from `mnist`; samples are rendered on demand. */
  constructor(mnist: Mnist, options: ClutteredMnistOptions = {}) {
    const o = options;
    const int = (name: string, v: number | undefined, def: number, min: number, max = Infinity): number => {
      const x = v ?? def;
      if (!Number.isInteger(x) || x < min || x > max) {
        throw new Error(`ClutteredMnist: ${name} must be an integer in [${min}, ${max}], got ${x}`);
      }
      return x;
    };
    const digits = int("digits", o.digits, 3, 1);
    const patch = int("patch", o.patch, 9, 1, DIGIT - 1);
    this.config = {
      seed: int("seed", o.seed, 0, 0, 2 ** 32 - 1),
      sizes: {
        train: int("sizes.train", o.sizes?.train, 60000, 0),
        valid: int("sizes.valid", o.sizes?.valid, 10000, 0),
        test: int("sizes.test", o.sizes?.test, 10000, 0),
      },
      canvas: int("canvas", o.canvas, 100, Math.max(DIGIT * digits, patch)),
      digits,
      clutter: int("clutter", o.clutter, 8, 0),
      patch,
      bankSize: int("bankSize", o.bankSize, 100000, 1),
      maxSlope: int("maxSlope", o.maxSlope, 14, 0),
      freshEpochs: o.freshEpochs ?? false,
    };
    if (typeof this.config.freshEpochs !== "boolean") {
      throw new Error(`ClutteredMnist: freshEpochs must be a boolean, got ${JSON.stringify(o.freshEpochs)}`);
    }
    if (mnist.rows !== DIGIT || mnist.cols !== DIGIT) {
      throw new Error(`ClutteredMnist: expected 28×28 MNIST images, got ${mnist.rows}×${mnist.cols}`);
    }
    if (mnist.train.count <= VALID_DIGITS || mnist.test.count < 1) {
      throw new Error(
        `ClutteredMnist: expected more than ${VALID_DIGITS} MNIST train images and some test images, ` +
          `got ${mnist.train.count} and ${mnist.test.count}`,
      );
    }
    this.#mnist = mnist;
    const rng = new Xoshiro128(hashWords(this.config.seed, BANK));
    this.#bank = buildClutterBank(mnist, rng, patch, this.config.bankSize);
  }

  /** The split's number of sequences. */
  size(split: ClutteredSplit): number {
    return this.config.sizes[checkSplit(split)];
  }

  /** The MNIST images a split draws its digits from: `source` images `start` (inclusive) to `end`. */
  pool(split: ClutteredSplit): { source: "train" | "test"; start: number; end: number } {
    const n = this.#mnist.train.count;
    switch (checkSplit(split)) {
      case "train":
        return { source: "train", start: 0, end: n - VALID_DIGITS };
      case "valid":
        return { source: "train", start: n - VALID_DIGITS, end: n };
      case "test":
        return { source: "test", start: 0, end: this.#mnist.test.count };
    }
  }

  /** Every random choice behind sample `index` of `split` (pure: the same for the same seed and options). */
  recipe(split: ClutteredSplit, index: number): SampleRecipe {
    this.#checkIndex(split, index);
    return this.#recipe(split, index);
  }

  #recipe(split: ClutteredSplit, index: number): SampleRecipe {
    const { seed, canvas, digits: k, clutter, patch, bankSize, maxSlope } = this.config;
    const rng = new Xoshiro128(hashWords(seed, SAMPLE, SPLIT_CODE[split], index));
    const pool = this.pool(split);
    const labels = this.#mnist[pool.source].labels;
    const picks: number[] = [];
    for (let i = 0; i < k; i++) picks.push(pool.start + rng.int(0, pool.end - pool.start - 1));
    const xBase = (canvas - k * DIGIT) >> 1;
    const xOff = xBase + (xBase > 0 ? rng.int(-xBase, xBase - 1) : 0);
    const yOff = rng.int(0, canvas - 1);
    const slope = maxSlope > 0 ? rng.int(-maxSlope, maxSlope - 1) : 0;
    const digits = picks.map((index, i): DigitPlacement => {
      const y = Math.max(0, Math.min(yOff + i * slope, canvas - DIGIT));
      return { source: pool.source, index, label: labels[index], x: i * DIGIT + xOff, y };
    });
    const patches = [];
    for (let j = 0; j < clutter; j++) {
      const id = rng.int(0, bankSize - 1);
      // [0, canvas − patch − 1]: the published code's randint(0, canvas − patch), exclusive high.
      const x = rng.int(0, canvas - patch - 1);
      patches.push({ patch: id, x, y: rng.int(0, canvas - patch - 1) });
    }
    return { digits, clutter: patches };
  }

  /** Sample `index` of `split`, rendered: pure and deterministic. */
  sample(split: ClutteredSplit, index: number): ClutteredSample {
    const { canvas, digits } = this.config;
    const image = new Float32Array(canvas * canvas);
    const labels = new Int32Array(digits);
    this.#render(this.recipe(split, index), image, 0, labels, 0, new Float32Array(canvas * canvas));
    return { image, labels };
  }

  /**
   * The samples `indices` of `split` as one batch. The caller owns (and disposes) the returned tensors.
   */
  batch(split: ClutteredSplit, indices: ArrayLike<number>): ClutteredBatch {
    for (let i = 0; i < indices.length; i++) this.#checkIndex(split, indices[i]);
    return this.#batch(split, indices, 0);
  }

  // `offset` moves the indices into the endless train stream of `freshEpochs` (0 otherwise).
  #batch(split: ClutteredSplit, indices: ArrayLike<number>, offset: number): ClutteredBatch {
    const { canvas, digits } = this.config;
    const b = indices.length;
    const px = canvas * canvas;
    const images = new Float32Array(b * px);
    const labels = new Int32Array(b * digits);
    const scratch = new Float32Array(px);
    for (let i = 0; i < b; i++) {
      this.#render(this.#recipe(split, offset + indices[i]), images, i * px, labels, i * digits, scratch);
    }
    return {
      images: tf.tensor4d(images, [b, canvas, canvas, 1], "float32"),
      labels: tf.tensor2d(labels, [b, digits], "int32"),
      indices: Uint32Array.from(indices, (i) => offset + i),
    };
  }

  /** The number of batches `batches(split, batchSize, options)` yields in total (ignoring `start`). */
  numBatches(split: ClutteredSplit, batchSize: number, options: BatchOptions = {}): number {
    const n = this.#count(split, options.limit);
    checkBatchSize(batchSize);
    return options.dropRemainder ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  }

  /**
   * The sample order of one epoch: a permutation of 0..n−1 keyed by (seed, split, epoch) when shuffling,
   * so a resumed run sees the same order; the identity otherwise.
   */
  order(split: ClutteredSplit, options: BatchOptions = {}): Uint32Array {
    const n = this.#count(split, options.limit);
    const epoch = options.epoch ?? 0;
    if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`batches: epoch must be >= 0, got ${epoch}`);
    if (options.shuffle === false) return Uint32Array.from({ length: n }, (_, i) => i);
    return new Xoshiro128(hashWords(this.config.seed, SHUFFLE, SPLIT_CODE[split], epoch)).permutation(n);
  }

  /**
   * Batches of one epoch of `split`, rendered one at a time. Each yielded tensor is owned by the caller,
   * who disposes it.
   */
  batches(
    split: ClutteredSplit,
    batchSize: number,
    options: BatchOptions = {},
  ): AsyncGenerator<ClutteredBatch, void, undefined> {
    // Arguments are checked here, at the call, rather than at the first `next()`.
    const total = this.numBatches(split, batchSize, options);
    const start = options.start ?? 0;
    if (!Number.isInteger(start) || start < 0 || start > total) {
      throw new Error(`batches: start must be an integer in [0, ${total}], got ${start}`);
    }
    const order = this.order(split, options);
    const offset = this.config.freshEpochs && split === "train" ? (options.epoch ?? 0) * this.size(split) : 0;
    const batch = (b: number): ClutteredBatch =>
      this.#batch(split, order.subarray(b * batchSize, Math.min((b + 1) * batchSize, order.length)), offset);
    return (async function* () {
      for (let b = start; b < total; b++) yield batch(b);
    })();
  }

  #render(
    r: SampleRecipe,
    out: Float32Array,
    at: number,
    labels: Int32Array,
    labelsAt: number,
    scratch: Float32Array,
  ): void {
    const { canvas, patch } = this.config;
    renderSample(r, this.#mnist, this.#bank, canvas, patch, out, at, labels, labelsAt, scratch);
  }

  #checkIndex(split: ClutteredSplit, index: number): void {
    const size = this.size(split);
    if (!Number.isInteger(index) || index < 0 || index >= size) {
      throw new Error(
        `ClutteredMnist: index must be an integer in [0, ${size - 1}] for ${split}, got ${index}`,
      );
    }
  }

  #count(split: ClutteredSplit, limit: number | undefined): number {
    const size = this.size(split);
    if (limit === undefined) return size;
    if (!Number.isInteger(limit) || limit < 0 || limit > size) {
      throw new Error(`batches: limit must be an integer in [0, ${size}] for ${split}, got ${limit}`);
    }
    return limit;
  }
}

function checkSplit(split: ClutteredSplit): ClutteredSplit {
  if (typeof split !== "string" || !Object.hasOwn(SPLIT_CODE, split)) {
    throw new Error(`ClutteredMnist: split must be "train", "valid" or "test", got ${JSON.stringify(split)}`);
  }
  return split;
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batches: batchSize must be a positive integer, got ${batchSize}`);
  }
}

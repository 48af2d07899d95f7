/**
 * Rendering for `ClutteredMnist`: the clutter bank, and a sample's recipe drawn onto a canvas.
 *
 * @module
 */
import type { Mnist } from "./mnist.ts";
import type { Xoshiro128 } from "./prng.ts";

/** Side of an MNIST digit. */
export const DIGIT = 28;

/**
 * Where one digit of a sample came from and where it was drawn.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist } from "@rnnspn/core";
 * const ds = new ClutteredMnist(await loadMnist());
 * const [first] = ds.recipe("test", 0).digits; // { source: "test", index, label, x, y }
 * ```
 */
export interface DigitPlacement {
  /** The MNIST file pair the digit comes from. */
  source: "train" | "test";
  /** The image's index in that MNIST file. */
  index: number;
  /** Its label, 0..9. */
  label: number;
  /** Left column of its 28×28 box on the canvas. */
  x: number;
  /** Top row of its 28×28 box on the canvas. */
  y: number;
}

/**
 * Every random choice behind one sample; rendering it gives `sample()`'s image.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist } from "@rnnspn/core";
 * const ds = new ClutteredMnist(await loadMnist());
 * const { digits, clutter } = ds.recipe("train", 42);
 * ```
 */
export interface SampleRecipe {
  /** The digits, left to right. */
  digits: DigitPlacement[];
  /** The clutter patches in drawing order (later ones overwrite earlier ones). */
  clutter: { patch: number; x: number; y: number }[];
}

/**
 * The clutter bank: `bankSize` square crops of side `patch` (uint8, row-major, one after another). Patch p
 * draws, from `rng`, a digit of MNIST train (0..59999, the train+valid pool), then its x and y crop offsets in
 * [0, 27 − patch] (0..18 for 9×9, the published code's exclusive randint).
 */
export function buildClutterBank(mnist: Mnist, rng: Xoshiro128, patch: number, bankSize: number): Uint8Array {
  const images = mnist.train.images;
  const n = mnist.train.count;
  const bank = new Uint8Array(bankSize * patch * patch);
  for (let p = 0; p < bankSize; p++) {
    const base = rng.int(0, n - 1) * DIGIT * DIGIT;
    const ox = rng.int(0, DIGIT - patch - 1);
    const oy = rng.int(0, DIGIT - patch - 1);
    for (let row = 0; row < patch; row++) {
      const s = base + (oy + row) * DIGIT + ox;
      bank.set(images.subarray(s, s + patch), (p * patch + row) * patch);
    }
  }
  return bank;
}

/**
 * Draws recipe `r` into `out[at .. at + canvas²)` and its labels into `labels[labelsAt ..]`: digits (pixel / 255)
 * onto the zeroed canvas, clutter onto `scratch` (a canvas² buffer, overwritten), then
 * `out = min(1, out + scratch)`.
 */
export function renderSample(
  r: SampleRecipe,
  mnist: Mnist,
  bank: Uint8Array,
  canvas: number,
  patch: number,
  out: Float32Array,
  at: number,
  labels: Int32Array,
  labelsAt: number,
  scratch: Float32Array,
): void {
  const px = canvas * canvas;
  out.fill(0, at, at + px);
  r.digits.forEach((d, i) => {
    labels[labelsAt + i] = d.label;
    const src = mnist[d.source].images;
    const base = d.index * DIGIT * DIGIT;
    for (let row = 0; row < DIGIT; row++) {
      const o = at + (d.y + row) * canvas + d.x;
      const s = base + row * DIGIT;
      for (let col = 0; col < DIGIT; col++) out[o + col] = src[s + col] / 255;
    }
  });
  if (r.clutter.length === 0) return;
  scratch.fill(0);
  const pp = patch * patch;
  for (const c of r.clutter) {
    const s = c.patch * pp;
    for (let row = 0; row < patch; row++) {
      const o = (c.y + row) * canvas + c.x;
      for (let col = 0; col < patch; col++) scratch[o + col] = bank[s + row * patch + col] / 255;
    }
  }
  for (let i = 0; i < px; i++) {
    const c = scratch[i];
    if (c !== 0) out[at + i] = Math.min(1, out[at + i] + c);
  }
}

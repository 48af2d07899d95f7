/**
 * What a model attends to on one image: its prediction, θ per step, each step's sampling region as four
 * corners in input pixels, and the glimpse the classifier saw (the model's own `glimpses` layer on the
 * predicted θ). Shared by the viewing page's Worker and the training page's Worker.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { affineGrid, type AnyModel } from "../mod.ts";

/** One image's prediction and attention (plain arrays, ready to post to the page). */
export interface Attention {
  /** Predicted digit per step. */
  digits: number[];
  /** Softmax per step, `steps · 10`. */
  probabilities: Float32Array;
  /** θ per transform, `transforms · 6` (row-major 2×3). */
  theta: Float32Array;
  /** The sampling region per transform: four corners `[x, y]` in input pixels (TL, TR, BR, BL). */
  quads: [number, number][][];
  /** Glimpses, `transforms · gh · gw`. */
  glimpses: Float32Array;
  /** Glimpse size `[gh, gw]`. */
  glimpseSize: [number, number];
  /** Milliseconds of `predict` plus reading its outputs back. */
  ms: number;
}

/**
 * The attention of `model` (an RNN-SPN or CNN-SPN: a model with θ and a `glimpses` layer) on `pixels`
 * (`h · w` values of one image).
 *
 * @example
 * ```ts ignore
 * import { RecurrentAttention } from "../mod.ts";
 * import { attend } from "./attention.ts";
 * const a = await attend(new RecurrentAttention(), new Float32Array(100 * 100));
 * console.log(a.digits, a.quads[0]); // three digits; step 1's region corners in input pixels
 * ```
 */
export async function attend(model: AnyModel, pixels: Float32Array): Promise<Attention> {
  const layer = model.model.getLayer("glimpses");
  const alignCorners = (layer.getConfig().alignCorners as boolean | undefined) ?? true;
  const [h, w] = model.inputSize;
  const images = tf.tensor4d(pixels, [1, h, w, 1]);
  const start = performance.now();
  const p = model.predict(images);
  if (!p.theta) {
    tf.dispose([images, p.logits, p.probabilities, p.digits]);
    throw new Error(`attend: a ${model.kind} model has no θ to show`);
  }
  // data(), not dataSync(): WebGPU can only read back asynchronously.
  const [digits, probabilities, theta] = await Promise.all([
    p.digits.data(),
    p.probabilities.data(),
    p.theta.data(),
  ]);
  const ms = performance.now() - start;
  const transforms = theta.length / 6;
  const [glimpses, grid] = tf.tidy(() => {
    const rows = tf.reshape(p.theta!, [transforms, 6]) as tf.Tensor2D;
    const g = layer.apply([images, tf.reshape(rows, [1, transforms, 6])]) as tf.Tensor4D;
    return [g, affineGrid(rows, [g.shape[1], g.shape[2]], alignCorners)];
  });
  const [, gh, gw] = glimpses.shape;
  const [g, glimpseData] = await Promise.all([grid.data(), glimpses.data()]);
  const toPixel = (x: number, n: number) => alignCorners ? (x + 1) / 2 * (n - 1) : ((x + 1) * n - 1) / 2;
  const corner = (s: number, r: number, c: number): [number, number] => {
    const o = ((s * gh + r) * gw + c) * 2;
    return [toPixel(g[o], w), toPixel(g[o + 1], h)];
  };
  const quads = Array.from(
    { length: transforms },
    (_, s) => [corner(s, 0, 0), corner(s, 0, gw - 1), corner(s, gh - 1, gw - 1), corner(s, gh - 1, 0)],
  );
  tf.dispose([images, p.logits, p.theta, p.probabilities, p.digits, glimpses, grid]);
  return {
    digits: Array.from(digits),
    probabilities: probabilities as Float32Array,
    theta: theta as Float32Array,
    quads,
    glimpses: glimpseData as Float32Array,
    glimpseSize: [gh, gw],
    ms,
  };
}

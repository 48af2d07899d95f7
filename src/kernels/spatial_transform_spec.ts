/**
 * The contract every backend's spatial-transform kernels implement: kernel names, inputs, attributes
 * and the exact arithmetic (PyTorch's `F.affine_grid` + `F.grid_sample`, with a projective grid as
 * the one extension).
 *
 * Forward `RnnspnSpatialTransform`, inputs `{ image: [N,H,W,C] f32, theta: [M,P] f32 }` with
 * `P = 6` (affine) or `P = 9` (projective, a row-major 3×3) and `M = k·N`; row `m` samples image
 * `floor(m / k)` (k glimpses per image without tiling the image). Output `[M, outHeight, outWidth, C]` f32.
 *
 * Backward `RnnspnSpatialTransformGrad`, inputs `{ dy: [M,h,w,C], image, theta }`, outputs
 * `[dImage: [N,H,W,C], dTheta: [M,P]]`.
 *
 * Arithmetic for output pixel (row i, column j) of row m:
 * - normalised output coords: alignCorners ? x = w > 1 ? -1 + 2j/(w-1) : 0 : x = (2j+1)/w - 1 (same for y, i, h)
 * - affine: gx = θ0·x + θ1·y + θ2, gy = θ3·x + θ4·y + θ5; projective: the same divided by
 *   d = θ6·x + θ7·y + θ8 (the third homogeneous coordinate)
 * - input coords: alignCorners ? ix = (gx+1)/2·(W-1) : ix = ((gx+1)·W - 1)/2 (same for iy, H)
 * - "bilinear" and "nearest" pad the coordinate (PyTorch's compute_source_index): "border" clamps ix
 *   to [0, W-1]; "reflection" reflects it about the edges (alignCorners ? 0 and W-1 : -0.5 and
 *   W-0.5), then clamps; the gradient through a clamped coordinate is 0, through a reflection ±1.
 *   "zeros" leaves it: taps outside the image read 0 and receive no gradient.
 * - bilinear: x0 = floor(ix), x1 = x0+1, wx = ix-x0 (same for y); out = Σ taps weight·image[tap].
 * - nearest: the one tap (round-half-even(ix), round-half-even(iy)); no gradient to θ.
 * - bicubic: the 4×4 taps floor(ix)-1 … floor(ix)+2 with Keys' cubic weights (A = -0.75) of
 *   t = ix - floor(ix), computed from the unpadded coordinate; each tap index is then padded on its
 *   own ("border" clamps it, "reflection" reflects and clamps it, "zeros" reads 0 outside).
 * - A NaN or infinite gx or gy (or projective d) makes that output pixel 0 and gives it no gradient
 *   (on every backend);
 *   no out-of-buffer read or write can happen for any θ.
 *
 * @module
 */

/** Forward kernel name. */
export const SPATIAL_TRANSFORM = "RnnspnSpatialTransform";
/** Backward kernel name (outputs `[dImage, dTheta]`). */
export const SPATIAL_TRANSFORM_GRAD = "RnnspnSpatialTransformGrad";

/**
 * How the image is read between pixels: PyTorch's `grid_sample` modes.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { type SampleMode, spatialTransform } from "@rnnspn/core";
 * const image = tf.randomUniform([1, 8, 8, 1]) as tf.Tensor4D;
 * const mode: SampleMode = "nearest"; // or "bilinear" (the default) or "bicubic"
 * const out = spatialTransform(image, tf.tensor2d([[0.5, 0, 0, 0, 0.5, 0]]), { mode }); // a 2× zoom
 * ```
 */
export type SampleMode = "bilinear" | "nearest" | "bicubic";

/** Every {@linkcode SampleMode}, in the order errors list them. */
export const SAMPLE_MODES: readonly SampleMode[] = ["bilinear", "nearest", "bicubic"];

/**
 * How samples outside the image are treated.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { type PaddingMode, spatialTransform } from "@rnnspn/core";
 * const image = tf.ones([1, 8, 8, 1]) as tf.Tensor4D;
 * const zoomOut = tf.tensor2d([[2, 0, 0, 0, 2, 0]]); // samples twice the image's extent
 * const paddingMode: PaddingMode = "zeros"; // "border" (the default) repeats the edge pixels, "reflection" mirrors
 * const out = spatialTransform(image, zoomOut, { paddingMode }); // [1, 8, 8, 1]: 4×4 ones amid zeros
 * ```
 */
export type PaddingMode = "border" | "zeros" | "reflection";

/** Every {@linkcode PaddingMode}, in the order errors list them. */
export const PADDING_MODES: readonly PaddingMode[] = ["border", "zeros", "reflection"];

/** Attributes of both kernels. */
export interface SpatialTransformAttrs {
  /** Output height h (> 0). */
  outHeight: number;
  /** Output width w (> 0). */
  outWidth: number;
  /** PyTorch's `align_corners`. */
  alignCorners: boolean;
  /** PyTorch's `padding_mode`. */
  paddingMode: PaddingMode;
  /** PyTorch's `mode`; absent means `"bilinear"`. */
  mode?: SampleMode;
}

/** Whether attributes and θ's row length `params` select the original bilinear affine zeros/border kernels. */
export function isBilinearAffine(attrs: SpatialTransformAttrs, params: number): boolean {
  return (attrs.mode ?? "bilinear") === "bilinear" && params === 6 && attrs.paddingMode !== "reflection";
}

/**
 * The contract every backend's spatial-transform kernels implement: kernel names, inputs, attributes
 * and the exact arithmetic (PyTorch's `F.affine_grid` + `F.grid_sample(mode="bilinear")`).
 *
 * Forward `RnnspnSpatialTransform`, inputs `{ image: [N,H,W,C] f32, theta: [M,6] f32 }` with
 * `M = k·N`; row `m` samples image `floor(m / k)` (k glimpses per image without tiling the image).
 * Output `[M, outHeight, outWidth, C]` f32.
 *
 * Backward `RnnspnSpatialTransformGrad`, inputs `{ dy: [M,h,w,C], image, theta }`, outputs
 * `[dImage: [N,H,W,C], dTheta: [M,6]]`.
 *
 * Arithmetic for output pixel (row i, column j) of row m:
 * - normalised output coords: alignCorners ? x = w > 1 ? -1 + 2j/(w-1) : 0 : x = (2j+1)/w - 1 (same for y, i, h)
 * - gx = θ0·x + θ1·y + θ2, gy = θ3·x + θ4·y + θ5
 * - input coords: alignCorners ? ix = (gx+1)/2·(W-1) : ix = ((gx+1)·W - 1)/2 (same for iy, H)
 * - paddingMode "border": ix clamped to [0, W-1] (and iy to [0, H-1]); the gradient through a clamped
 *   coordinate is 0. "zeros": taps outside the image read 0 and receive no gradient.
 * - bilinear: x0 = floor(ix), x1 = x0+1, wx = ix-x0 (same for y); out = Σ taps weight·image[tap].
 * - A NaN or infinite gx or gy makes that output pixel 0 and gives it no gradient (on every backend);
 *   no out-of-buffer read or write can happen for any θ.
 *
 * @module
 */

/** Forward kernel name. */
export const SPATIAL_TRANSFORM = "RnnspnSpatialTransform";
/** Backward kernel name (outputs `[dImage, dTheta]`). */
export const SPATIAL_TRANSFORM_GRAD = "RnnspnSpatialTransformGrad";

/**
 * How samples outside the image are treated.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { type PaddingMode, spatialTransform } from "@rnnspn/core";
 * const image = tf.ones([1, 8, 8, 1]) as tf.Tensor4D;
 * const zoomOut = tf.tensor2d([[2, 0, 0, 0, 2, 0]]); // samples twice the image's extent
 * const paddingMode: PaddingMode = "zeros"; // "border" (the default) would repeat the edge pixels instead
 * const out = spatialTransform(image, zoomOut, { paddingMode }); // [1, 8, 8, 1]: 4×4 ones amid zeros
 * ```
 */
export type PaddingMode = "border" | "zeros";

/** Attributes of both kernels. */
export interface SpatialTransformAttrs {
  /** Output height h (> 0). */
  outHeight: number;
  /** Output width w (> 0). */
  outWidth: number;
  /** PyTorch's `align_corners`. */
  alignCorners: boolean;
  /** PyTorch's `padding_mode` ("border" or "zeros"). */
  paddingMode: PaddingMode;
}

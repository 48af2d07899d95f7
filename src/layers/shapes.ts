/**
 * Shape checks the spatial-transformer layers run when they are built, so that a wrong θ or an NCHW
 * image fails while the model is being assembled, with the shapes in the message, rather than at the
 * first batch (or, for NCHW, never: `[2, 1, 60, 60]` would be read as a 1×60 image with 60 channels).
 *
 * @module
 */
import type { tf } from "../tf.ts";

/**
 * Checks that `shape` is an NHWC image shape `[N, H, W, C]` and not, by the look of it, NCHW: channels
 * above the height or width while the height is at most 4 (`[N, 1, 60, 60]`) is refused.
 *
 * @example
 * ```ts
 * import { checkImageShape } from "./shapes.ts";
 * checkImageShape([null, 60, 60, 1], "MyLayer"); // fine
 * // checkImageShape([null, 1, 60, 60], "MyLayer") throws: looks like NCHW
 * ```
 */
export function checkImageShape(shape: tf.Shape, caller: string): tf.Shape {
  if (!Array.isArray(shape) || shape.length !== 4) {
    throw new Error(`${caller}: the image must be [N, H, W, C] (NHWC); got shape ${JSON.stringify(shape)}`);
  }
  const [, h, w, c] = shape;
  if (c != null && h != null && h <= 4 && (c > h || (w != null && c > w))) {
    throw new Error(
      `${caller}: the image shape ${JSON.stringify(shape)} looks like NCHW (channels ${c} > height ${h} ` +
        `or width ${w}, with height ≤ 4); the layer reads NHWC [N, H, W, C]: transpose the images ` +
        `(tf.transpose(x, [0, 2, 3, 1]) or tf.layers.permute({ dims: [2, 3, 1] }))`,
    );
  }
  return shape;
}

/**
 * Checks θ's shape: `[M, 6]` or `[M, 2, 3]` (affine), `[M, 9]` or `[M, 3, 3]` (projective).
 *
 * @example
 * ```ts
 * import { checkThetaShape } from "./shapes.ts";
 * checkThetaShape([null, 6], "MyLayer"); // fine
 * // checkThetaShape([null, 5], "MyLayer") throws: 6 or 9 expected
 * ```
 */
export function checkThetaShape(shape: tf.Shape, caller: string): void {
  const ok = Array.isArray(shape) &&
    ((shape.length === 2 && (shape[1] === 6 || shape[1] === 9)) ||
      (shape.length === 3 && (shape[1] === 2 || shape[1] === 3) && shape[2] === 3));
  if (!ok) {
    throw new Error(
      `${caller}: θ must be [M, 6] or [M, 2, 3] (affine) or [M, 9] or [M, 3, 3] (projective): its last ` +
        `dimension 6 or 9 expected; got shape ${JSON.stringify(shape)}`,
    );
  }
}

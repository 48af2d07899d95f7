/**
 * `affineGrid`: the sampling coordinates `spatialTransform` reads from, for inspection and for
 * drawing attention boxes.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { checkTensor } from "../tf_copies.ts";
import { baseCoords } from "../kernels/cpu/spatial_transform_common.ts";
import { checkAllocation } from "./allocation.ts";

/**
 * The normalised input coordinates that each output pixel samples: PyTorch's `F.affine_grid`.
 * Entry `[m, i, j]` is `(x, y) = θ_m · (x_j, y_i, 1)`, x along the width, both in the input's
 * normalised [-1, 1] frame. Built from generic tfjs ops, so it runs on every backend and is
 * differentiable with respect to `theta`. The caller disposes the result.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { affineGrid } from "@rnnspn/core";
 * const grid = affineGrid(tf.tensor2d([[0.5, 0, 0, 0, 0.5, 0]]), [3, 3]); // [1, 3, 3, 2]
 * // grid[0, 0, 0] is (-0.5, -0.5): the top-left output pixel samples halfway to the top-left corner.
 * ```
 *
 * @param theta float32 `[M, 6]` or `[M, 2, 3]`.
 * @param outputSize `[height, width]`, positive integers.
 * @param alignCorners PyTorch's `align_corners` (default `true`, like `spatialTransform`).
 * @returns float32 `[M, height, width, 2]`.
 */
export function affineGrid(
  theta: tf.Tensor2D | tf.Tensor3D,
  outputSize: [number, number],
  alignCorners = true,
): tf.Tensor4D {
  checkTensor(theta, "affineGrid: theta");
  const ok = theta.dtype === "float32" &&
    ((theta.rank === 2 && theta.shape[1] === 6) ||
      (theta.rank === 3 && theta.shape[1] === 2 && theta.shape[2] === 3));
  if (!ok || theta.shape[0] < 1) {
    throw new Error(
      `affineGrid: theta must be a float32 [M, 6] or [M, 2, 3] tensor with M ≥ 1; got shape [${
        theta.shape.join(", ")
      }] (${theta.dtype})`,
    );
  }
  if (
    !Array.isArray(outputSize) || outputSize.length !== 2 ||
    !outputSize.every((v) => Number.isInteger(v) && v > 0)
  ) {
    throw new Error(
      `affineGrid: outputSize must be [height, width] with positive integers; got ${
        JSON.stringify(outputSize)
      }`,
    );
  }
  if (typeof alignCorners !== "boolean") {
    throw new Error(`affineGrid: alignCorners must be a boolean; got ${JSON.stringify(alignCorners)}`);
  }
  const [h, w] = outputSize;
  const m = theta.shape[0];
  // Before the base grid's typed array, which a huge size would make fail with a bare RangeError.
  checkAllocation("affineGrid", "the output grid", [m, h, w, 2]);
  checkAllocation("affineGrid", "the base grid", [h * w, 3]);
  const xs = baseCoords(w, alignCorners), ys = baseCoords(h, alignCorners);
  const base = new Float32Array(h * w * 3);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const p = (i * w + j) * 3;
      base[p] = xs[j];
      base[p + 1] = ys[i];
      base[p + 2] = 1;
    }
  }
  return tf.tidy(() => {
    // [h·w, 3] @ [3, M·2] in one matMul, then rearranged to [M, h, w, 2].
    const t = tf.reshape(tf.transpose(tf.reshape(theta, [m, 2, 3]), [2, 0, 1]), [3, m * 2]);
    const g = tf.matMul(tf.tensor2d(base, [h * w, 3]), t);
    return tf.reshape(tf.transpose(tf.reshape(g, [h * w, m, 2]), [1, 0, 2]), [m, h, w, 2]);
  });
}

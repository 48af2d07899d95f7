/**
 * `spatialTransform`: the differentiable affine or projective sampler (PyTorch's `F.affine_grid` +
 * `F.grid_sample`, bilinear, nearest or bicubic), as one fused kernel per backend and one for its
 * gradient.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { checkTensor } from "../tf_copies.ts";
import {
  PADDING_MODES,
  type PaddingMode,
  SAMPLE_MODES,
  type SampleMode,
  SPATIAL_TRANSFORM,
  SPATIAL_TRANSFORM_GRAD,
  type SpatialTransformAttrs,
} from "../kernels/spatial_transform_spec.ts";
import { checkAllocation } from "./allocation.ts";

export type { PaddingMode, SampleMode };

/**
 * Options of {@linkcode spatialTransform} (and of the `SpatialTransformer` layer).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { spatialTransform, type SpatialTransformOptions } from "@rnnspn/core";
 * const options: SpatialTransformOptions = { outputSize: [28, 28], alignCorners: false };
 * const image = tf.randomUniform([1, 100, 100, 1]) as tf.Tensor4D;
 * const identity = tf.tensor2d([[1, 0, 0, 0, 1, 0]]);
 * const resized = spatialTransform(image, identity, options); // [1, 28, 28, 1]: a bilinear resize
 * ```
 */
export interface SpatialTransformOptions {
  /** Output size `[height, width]`, positive integers. Takes precedence over `downsampleFactor`. */
  outputSize?: [number, number];
  /**
   * Without `outputSize`, the output is `floor(H / f) × floor(W / f)` (the paper's 100 / 3 → 33).
   * A finite number > 0; default 1.
   */
  downsampleFactor?: number;
  /** PyTorch's `align_corners`: default `true` (the paper's Lasagne layer). */
  alignCorners?: boolean;
  /**
   * How samples outside the image are treated: `"border"` (default, clip to the edge), `"zeros"` or
   * `"reflection"` (mirror about the edges), as PyTorch's `padding_mode`.
   */
  paddingMode?: PaddingMode;
  /**
   * How the image is read between pixels: `"bilinear"` (default), `"nearest"` (round half to even;
   * no gradient to θ) or `"bicubic"` (Keys' cubic, A = -0.75), as PyTorch's `mode`.
   */
  mode?: SampleMode;
}

function list(values: readonly string[]): string {
  return values.map((v) => JSON.stringify(v)).join(", ");
}

function describe(t: tf.Tensor): string {
  return `shape [${t.shape.join(", ")}] (${t.dtype})`;
}

/**
 * Checks `options` (everything that does not depend on the image size); `caller` names the API in
 * errors. Shared with the `SpatialTransformer` layer, which checks its config at construction.
 */
export function checkSpatialTransformOptions(options: SpatialTransformOptions, caller: string): void {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new Error(
      `${caller}: options must be an object (or omitted); got ${
        Array.isArray(options) ? "an array" : JSON.stringify(options) ?? typeof options
      }`,
    );
  }
  const { outputSize, downsampleFactor, alignCorners, paddingMode, mode } = options;
  if (
    outputSize !== undefined &&
    (!Array.isArray(outputSize) || outputSize.length !== 2 ||
      !outputSize.every((v) => Number.isInteger(v) && v > 0))
  ) {
    throw new Error(
      `${caller}: options.outputSize must be [height, width] with positive integers; got ${
        JSON.stringify(outputSize)
      }`,
    );
  }
  if (
    downsampleFactor !== undefined &&
    (typeof downsampleFactor !== "number" || !Number.isFinite(downsampleFactor) || downsampleFactor <= 0)
  ) {
    throw new Error(
      `${caller}: options.downsampleFactor must be a finite number > 0; got ${downsampleFactor}`,
    );
  }
  if (alignCorners !== undefined && typeof alignCorners !== "boolean") {
    throw new Error(`${caller}: options.alignCorners must be a boolean; got ${JSON.stringify(alignCorners)}`);
  }
  if (paddingMode !== undefined && !PADDING_MODES.includes(paddingMode)) {
    throw new Error(
      `${caller}: options.paddingMode must be one of ${list(PADDING_MODES)}; got ${
        JSON.stringify(paddingMode)
      }`,
    );
  }
  if (mode !== undefined && !SAMPLE_MODES.includes(mode)) {
    throw new Error(
      `${caller}: options.mode must be one of ${list(SAMPLE_MODES)}; got ${JSON.stringify(mode)}`,
    );
  }
}

/**
 * Checks `options` and resolves the kernel attributes for an input of `height × width` pixels:
 * `outputSize`, else `floor(height / f) × floor(width / f)`, which must not be empty.
 */
export function resolveSpatialTransformAttrs(
  height: number,
  width: number,
  options: SpatialTransformOptions = {},
  caller = "spatialTransform",
): SpatialTransformAttrs {
  checkSpatialTransformOptions(options, caller);
  const { outputSize, downsampleFactor = 1, alignCorners = true, paddingMode = "border", mode = "bilinear" } =
    options;
  if (outputSize !== undefined) {
    return { outHeight: outputSize[0], outWidth: outputSize[1], alignCorners, paddingMode, mode };
  }
  const outHeight = Math.floor(height / downsampleFactor), outWidth = Math.floor(width / downsampleFactor);
  if (outHeight < 1 || outWidth < 1) {
    throw new Error(
      `${caller}: options.downsampleFactor ${downsampleFactor} turns the ${height}×${width} image into a ` +
        `zero-size ${outHeight}×${outWidth} output`,
    );
  }
  return { outHeight, outWidth, alignCorners, paddingMode, mode };
}

/** θ's parameters per row: 6 (affine [M,6] or [M,2,3]), 9 (projective [M,9] or [M,3,3]), or 0 if neither. */
function thetaParams(theta: tf.Tensor): 0 | 6 | 9 {
  if (theta.dtype !== "float32") return 0;
  if (theta.rank === 2 && (theta.shape[1] === 6 || theta.shape[1] === 9)) return theta.shape[1];
  if (theta.rank === 3 && theta.shape[1] === 2 && theta.shape[2] === 3) return 6;
  if (theta.rank === 3 && theta.shape[1] === 3 && theta.shape[2] === 3) return 9;
  return 0;
}

/** Checks `image` and `theta` and returns the number of glimpses per image, k = M / N. */
function checkInputs(image: tf.Tensor, theta: tf.Tensor): number {
  checkTensor(image, "spatialTransform: image");
  checkTensor(theta, "spatialTransform: theta");
  if (image.rank !== 4 || image.dtype !== "float32") {
    throw new Error(`spatialTransform: image must be a float32 [N, H, W, C] tensor; got ${describe(image)}`);
  }
  if (image.shape.some((d) => d < 1)) {
    throw new Error(`spatialTransform: image must have no zero-size dimension; got ${describe(image)}`);
  }
  if (thetaParams(theta) === 0) {
    throw new Error(
      "spatialTransform: theta must be a float32 affine [M, 6] or [M, 2, 3] or projective [M, 9] or " +
        `[M, 3, 3] tensor; got ${describe(theta)}`,
    );
  }
  const n = image.shape[0], m = theta.shape[0];
  if (m < 1 || m % n !== 0) {
    throw new Error(
      `spatialTransform: theta's rows M must be a positive multiple k·N of the image batch N = ${n}; ` +
        `got theta ${describe(theta)} for image ${describe(image)}`,
    );
  }
  return m / n;
}

/**
 * Samples `image` through the affine maps `theta`: output pixel (x, y) of row `m`, in normalised
 * coordinates [-1, 1], reads `image[floor(m / k)]` at `θ_m · (x, y, 1)`, with `k = M / N` glimpses
 * per image (no tiling of the image in memory). Matches PyTorch's
 * `F.grid_sample(F.affine_grid(θ), mode, padding_mode, align_corners)`. A projective θ (3×3 rows)
 * reads at `(x', y') = (θ0·x + θ1·y + θ2, θ3·x + θ4·y + θ5) / (θ6·x + θ7·y + θ8)`.
 * Differentiable with respect to both `image` and `theta` (`"nearest"` passes no gradient to θ,
 * as in PyTorch). Coordinates that are NaN or infinite (a projective denominator of 0, say) give an
 * output of 0 for that pixel and no gradient. The caller disposes the result.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { spatialTransform } from "@rnnspn/core";
 * const image = tf.randomUniform([2, 100, 100, 1]) as tf.Tensor4D;
 * // Three glimpses per image, each a 2× zoom at the centre.
 * const theta = tf.tile(tf.tensor2d([[0.5, 0, 0, 0, 0.5, 0]]), [6, 1]) as tf.Tensor2D;
 * const glimpses = spatialTransform(image, theta, { downsampleFactor: 3 }); // [6, 33, 33, 1]
 * // A perspective view, bicubic, mirrored beyond the edges.
 * const homography = tf.tensor2d([[1, 0.2, 0, 0, 1, 0, 0.3, 0, 1], [1, 0, 0, 0, 1, 0, 0, 0, 1]]); // [M, 9]
 * const views = spatialTransform(image, homography, { mode: "bicubic", paddingMode: "reflection" });
 * ```
 *
 * @param image float32 `[N, H, W, C]`.
 * @param theta float32 affine `[M, 6]` or `[M, 2, 3]`, or projective `[M, 9]` or `[M, 3, 3]`;
 *   `M = k·N` (k ≥ 1); row `m` samples image `floor(m / k)`.
 * @param options output size, corner alignment, padding and sampling mode.
 * @returns float32 `[M, h, w, C]`.
 */
export function spatialTransform(
  image: tf.Tensor4D,
  theta: tf.Tensor2D | tf.Tensor3D,
  options: SpatialTransformOptions = {},
): tf.Tensor4D {
  checkInputs(image, theta);
  const attrs = resolveSpatialTransformAttrs(image.shape[1], image.shape[2], options);
  checkAllocation("spatialTransform", "the output", [
    theta.shape[0],
    attrs.outHeight,
    attrs.outWidth,
    image.shape[3],
  ]);
  return tf.tidy(() => {
    // The kernels see θ as [M, 6] or [M, 9]; reshape's own gradient brings ∂θ back to [M, 2|3, 3].
    const flat = theta.rank === 3 ? tf.reshape(theta, [theta.shape[0], thetaParams(theta)]) : theta;
    return tf.engine().runKernel(
      SPATIAL_TRANSFORM,
      { image, theta: flat } as unknown as tf.NamedTensorMap,
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor4D;
  });
}

tf.registerGradient({
  kernelName: SPATIAL_TRANSFORM,
  inputsToSave: ["image", "theta"],
  gradFunc: (dy, saved, attrs) => {
    const [image, theta] = saved;
    const [dImage, dTheta] = tf.engine().runKernel(
      SPATIAL_TRANSFORM_GRAD,
      { dy: dy as tf.Tensor, image, theta } as unknown as tf.NamedTensorMap,
      attrs as tf.NamedAttrMap,
    ) as tf.Tensor[];
    return { image: () => dImage, theta: () => tf.reshape(dTheta, theta.shape) };
  },
});

/**
 * Running the spatial-transform kernels directly (no op in between) on one case, for the per-backend
 * kernel tests (wasm, webgpu): forward and backward of the active backend, shapes checked, results
 * read back and every tensor disposed.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import {
  SPATIAL_TRANSFORM,
  SPATIAL_TRANSFORM_GRAD,
  type SpatialTransformAttrs,
} from "../src/kernels/spatial_transform_spec.ts";
import { compare, GOLDEN, label } from "./_golden.ts";

/** One kernel call's inputs: image `[N,H,W,C]`, θ `[M,P]` and the upstream gradient `[M,h,w,C]`. */
export interface KernelCase {
  shape: [number, number, number, number];
  image: Float32Array | number[];
  theta: Float32Array | number[];
  /** θ values per row: 6 (affine, the default) or 9 (projective). */
  params?: 6 | 9;
  dy: Float32Array | number[];
  attrs: SpatialTransformAttrs;
}

/** What the forward and backward kernels return for a case. */
export interface KernelResult {
  output: Float32Array;
  dImage: Float32Array;
  dTheta: Float32Array;
}

/** Forward and backward of one case through the active backend's kernels. */
export async function runKernels(c: KernelCase): Promise<KernelResult> {
  const params = c.params ?? 6;
  const m = c.theta.length / params;
  const image = tf.tensor4d(c.image, c.shape);
  const theta = tf.tensor2d(c.theta, [m, params]);
  const dy = tf.tensor4d(c.dy, [m, c.attrs.outHeight, c.attrs.outWidth, c.shape[3]]);
  const attrs = c.attrs as unknown as tf.NamedAttrMap;
  const output = tf.engine().runKernel(SPATIAL_TRANSFORM, { image, theta }, attrs) as tf.Tensor;
  const [dImage, dTheta] = tf.engine().runKernel(
    SPATIAL_TRANSFORM_GRAD,
    { dy, image, theta },
    attrs,
  ) as tf.Tensor[];
  assert.deepEqual(output.shape, [m, c.attrs.outHeight, c.attrs.outWidth, c.shape[3]]);
  assert.deepEqual(dImage.shape, c.shape);
  assert.deepEqual(dTheta.shape, [m, params]);
  const result = {
    output: await output.data() as Float32Array,
    dImage: await dImage.data() as Float32Array,
    dTheta: await dTheta.data() as Float32Array,
  };
  tf.dispose([image, theta, dy, output, dImage, dTheta]);
  return result;
}

/**
 * Runs the 16 PyTorch golden cases through the active backend's kernels; returns one line per
 * output, ∂image or ∂θ whose max-abs error exceeds the tolerance (empty when all pass).
 */
export async function goldenFailures(): Promise<string[]> {
  const failures: string[] = [];
  for (const g of GOLDEN) {
    const r = await runKernels({
      shape: g.image_shape,
      image: g.image,
      theta: g.theta,
      dy: g.upstream,
      attrs: {
        outHeight: g.output_size[0],
        outWidth: g.output_size[1],
        alignCorners: g.align_corners,
        paddingMode: g.padding_mode,
      },
    });
    for (
      const [what, actual, expected] of [
        ["output", r.output, g.output],
        ["∂image", r.dImage, g.grad_image],
        ["∂θ", r.dTheta, g.grad_theta],
      ] as const
    ) {
      const { err, tol } = compare(actual, expected);
      if (!(err <= tol)) failures.push(`${label(g)} ${what}: max-abs error ${err} > ${tol}`);
    }
  }
  return failures;
}

/**
 * Every sampler mode × padding × align_corners × (affine, projective) against PyTorch 1.13 in float64
 * (`tests/golden/sampler_modes.json`, made by `tools/gen_sampler_goldens.py`): output, ∂image and
 * ∂θ through `spatialTransform`, on every backend, to max-abs error ≤ 1e-4 · max(1, max|reference|).
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend, spatialTransform } from "../mod.ts";
import { BACKENDS, needs } from "./_backends.ts";
import { MODE_CASES, modeLabel } from "./_mode_goldens.ts";
import { maxAbsError } from "./_reference_sampler.ts";

assert.equal(MODE_CASES.length, 36, "3 modes × 3 paddings × 2 align_corners × 2 transforms");

for (const backend of BACKENDS) {
  Deno.test({
    name:
      `spatialTransform matches PyTorch for every mode × padding × align × affine/projective (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const failures: string[] = [];
      for (const [index, c] of MODE_CASES.entries()) {
        const [m, params] = c.theta_shape;
        const options = {
          outputSize: c.output_size,
          alignCorners: c.align_corners,
          paddingMode: c.padding_mode,
          mode: c.mode,
        };
        const image = tf.tensor4d(c.image, c.image_shape);
        // Both accepted θ layouts: [M, 2|3, 3] for even cases, flat [M, 6|9] for odd ones.
        const theta = index % 2 === 0
          ? tf.tensor3d(c.theta, [m, params / 3, 3])
          : tf.tensor2d(c.theta, [m, params]);
        const upstream = tf.tensor(c.upstream, [m, ...c.output_size, c.image_shape[3]]);
        const output = spatialTransform(image, theta as tf.Tensor2D, options);
        const grads = tf.grads((im: tf.Tensor, th: tf.Tensor) =>
          tf.sum(tf.mul(spatialTransform(im as tf.Tensor4D, th as tf.Tensor2D, options), upstream))
        )([image, theta]);
        assert.deepEqual(grads[1].shape, theta.shape, "∂θ has θ's own shape");
        for (
          const [what, actual, expected] of [
            ["output", await output.data(), c.output],
            ["∂image", await grads[0].data(), c.grad_image],
            ["∂θ", await grads[1].data(), c.grad_theta],
          ] as const
        ) {
          const { err, tol } = maxAbsError(actual, expected);
          if (!(err <= tol)) failures.push(`${modeLabel(c)} ${what}: max-abs error ${err} > ${tol}`);
        }
        tf.dispose([image, theta, upstream, output, ...grads]);
      }
      assert.deepEqual(failures, []);
    },
  });
}

/**
 * The spatial transform against PyTorch 1.13 (float64) on the 16 golden cases: output, ∂image and
 * ∂θ, on every backend, to max-abs error ≤ 1e-4 · max(1, max|reference|).
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend, spatialTransform } from "../mod.ts";
import { BACKENDS, needs } from "./_backends.ts";
import { compare, GOLDEN, label } from "./_golden.ts";

assert.equal(GOLDEN.length, 16, "the golden file should hold 16 cases");

for (const backend of BACKENDS) {
  Deno.test({
    name: `spatialTransform matches PyTorch on the 16 golden cases (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const failures: string[] = [];
      for (const c of GOLDEN) {
        const [n] = c.image_shape;
        const options = {
          outputSize: c.output_size,
          alignCorners: c.align_corners,
          paddingMode: c.padding_mode,
        };
        const image = tf.tensor4d(c.image, c.image_shape);
        const theta = tf.tensor3d(c.theta, [n, 2, 3]);
        const upstream = tf.tensor(c.upstream, [n, ...c.output_size, c.image_shape[3]]);
        const output = spatialTransform(image, theta, options);
        // ∑ upstream·output has gradient `upstream` at the output: PyTorch's backward with that seed.
        const grads = tf.grads((im: tf.Tensor, th: tf.Tensor) =>
          tf.sum(tf.mul(spatialTransform(im as tf.Tensor4D, th as tf.Tensor3D, options), upstream))
        )([image, theta]);
        assert.deepEqual(grads[1].shape, [n, 2, 3], "∂θ has θ's own shape");
        const checks = [
          ["output", await output.data(), c.output],
          ["∂image", await grads[0].data(), c.grad_image],
          ["∂θ", await grads[1].data(), c.grad_theta],
        ] as const;
        for (const [what, actual, expected] of checks) {
          const { err, tol } = compare(actual, expected);
          if (!(err <= tol)) failures.push(`${label(c)} ${what}: max-abs error ${err} > ${tol}`);
        }
        tf.dispose([image, theta, upstream, output, ...grads]);
      }
      assert.deepEqual(failures, []);
    },
  });
}

// spatialTransform from Node against PyTorch's float64 golden cases: output, ∂image, ∂θ.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compare, goldenCases, lib } from "./_helpers.mjs";

const { tf, selectBackend, spatialTransform } = lib;
const cases = await goldenCases();

for (const backend of ["wasm", "cpu"]) {
  test(`spatialTransform matches PyTorch on the ${cases.length} golden cases (${backend})`, async () => {
    assert.equal(cases.length, 16);
    await selectBackend(backend);
    const failures = [];
    for (const c of cases) {
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
      const grads = tf.grads((im, th) => tf.sum(tf.mul(spatialTransform(im, th, options), upstream)))([
        image,
        theta,
      ]);
      for (
        const [what, actual, expected] of [
          ["output", await output.data(), c.output],
          ["∂image", await grads[0].data(), c.grad_image],
          ["∂θ", await grads[1].data(), c.grad_theta],
        ]
      ) {
        const { err, tol } = compare(actual, expected);
        if (!(err <= tol)) failures.push(`[${c.image_shape}] ${what}: max-abs error ${err} > ${tol}`);
      }
      tf.dispose([image, theta, upstream, output, ...grads]);
    }
    assert.deepEqual(failures, []);
  });
}

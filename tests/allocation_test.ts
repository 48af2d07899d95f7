/**
 * Allocation bounds: an output size or grid that cannot fit one tensor of the active backend is
 * refused before anything is allocated, with the bytes it would need; sizes within bounds still run.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { affineGrid, selectBackend, spatialTransform, type SpatialTransformOptions } from "../mod.ts";
import { tensorBytesLimit } from "../src/ops/allocation.ts";
import { BACKENDS, needs } from "./_backends.ts";

for (const backend of BACKENDS) {
  Deno.test({
    name:
      `spatialTransform and affineGrid refuse outputs beyond the ${backend} backend's limit, naming the bytes`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const limit = tensorBytesLimit();
      assert.ok(limit.bytes >= 2 ** 27 && limit.bytes <= 2 ** 32, `${backend}: limit ${limit.bytes}`);
      const image = tf.zeros([2, 9, 8, 1]) as tf.Tensor4D, theta = tf.zeros([2, 6]) as tf.Tensor2D;
      const before = tf.memory().numTensors;
      assert.throws(
        () => spatialTransform(image, theta, { outputSize: [2 ** 31, 1] }),
        new RegExp(
          `spatialTransform: the output \\[2, 2147483648, 1, 1\\] would need 17179869184 bytes \\(16\\.0 GiB\\); ` +
            `.* is ${limit.bytes} bytes`,
        ),
      );
      assert.throws(
        () => affineGrid(theta, [30000, 30000]),
        /affineGrid: the output grid \[2, 30000, 30000, 2\] would need 14400000000 bytes \(13\.4 GiB\)/,
      );
      // One glimpse row, 5 channels: 4·5·h·w bytes just above the limit.
      const side = Math.ceil(Math.sqrt(limit.bytes / 20)) + 1;
      const five = tf.zeros([1, 4, 4, 5]) as tf.Tensor4D, one = tf.zeros([1, 6]) as tf.Tensor2D;
      assert.throws(
        () => spatialTransform(five, one, { outputSize: [side, side] }),
        new RegExp(`would need ${20 * side * side} bytes`),
      );
      assert.equal(tf.memory().numTensors, before + 2, "nothing allocated by a refused call");
      // Within bounds: unchanged.
      const ok = spatialTransform(image, theta, { outputSize: [64, 48] });
      assert.deepEqual(ok.shape, [2, 64, 48, 1]);
      const grid = affineGrid(theta, [64, 48]);
      assert.deepEqual(grid.shape, [2, 64, 48, 2]);
      tf.dispose([image, theta, five, one, ok, grid]);
    },
  });
}

Deno.test("spatialTransform with options null (or not an object) is an error naming options", async () => {
  await selectBackend("cpu");
  const image = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D, theta = tf.zeros([1, 6]) as tf.Tensor2D;
  for (const [bad, seen] of [[null, "null"], [3, "3"], [[28, 28], "an array"], ["big", '"big"']] as const) {
    assert.throws(
      () => spatialTransform(image, theta, bad as unknown as SpatialTransformOptions),
      new RegExp(`spatialTransform: options must be an object \\(or omitted\\); got ${seen}`),
    );
  }
  tf.dispose([image, theta]);
});

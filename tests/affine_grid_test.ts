/** affineGrid: PyTorch's affine_grid formula, both θ layouts, differentiable, on every backend. */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { affineGrid, selectBackend } from "../mod.ts";
import { BACKENDS, needs } from "./_backends.ts";
import { maxAbsError, prng, randomTheta } from "./_reference_sampler.ts";

/** θ · (x_j, y_i, 1) in float64, with the normalised coordinates written out independently. */
function referenceGrid(theta: Float32Array, h: number, w: number, alignCorners: boolean): Float64Array {
  const m = theta.length / 6, out = new Float64Array(m * h * w * 2);
  const lin = (i: number, n: number) =>
    alignCorners
      ? (n === 1 ? 0 : -1 + (2 * i) / (n - 1))
      : ((-1 + (2 * i) / Math.max(n - 1, 1)) * (n - 1)) / n;
  for (let r = 0; r < m; r++) {
    const t = theta.subarray(r * 6, r * 6 + 6);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const x = lin(j, w), y = lin(i, h), p = ((r * h + i) * w + j) * 2;
        out[p] = t[0] * x + t[1] * y + t[2];
        out[p + 1] = t[3] * x + t[4] * y + t[5];
      }
    }
  }
  return out;
}

for (const backend of BACKENDS) {
  Deno.test({
    name: `affineGrid matches θ·(x, y, 1) for both alignCorners and θ layouts (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const rand = prng(11);
      for (const [m, h, w] of [[3, 5, 7], [2, 1, 4], [1, 33, 33]]) {
        const thetaData = randomTheta(rand, m);
        for (const alignCorners of [true, false]) {
          for (const rank of [2, 3]) {
            const theta = (rank === 2
              ? tf.tensor2d(thetaData, [m, 6])
              : tf.tensor3d(thetaData, [m, 2, 3])) as tf.Tensor2D;
            const grid = affineGrid(theta, [h, w], alignCorners);
            assert.deepEqual(grid.shape, [m, h, w, 2]);
            const { err, tol } = maxAbsError(await grid.data(), referenceGrid(thetaData, h, w, alignCorners));
            // The reference scale is ~1, so tol = 1e-4; float32 matmul of 3 terms is ~1e-7.
            assert.ok(err <= tol, `[${m},${h},${w}] align=${alignCorners} θ rank ${rank}: ${err} > ${tol}`);
            tf.dispose([theta, grid]);
          }
        }
      }
    },
  });
}

Deno.test("affineGrid is differentiable in θ (∂Σgrid_x/∂θ = (Σx, Σy, h·w) = (0, 0, 12), 0, 0, 0)", async () => {
  await selectBackend("cpu");
  const theta = tf.tensor2d([[1, 0, 0, 0, 1, 0]]);
  // With alignCorners true the x_j are symmetric, so Σx = 0; Σ1 over 3×4 pixels = 12 for θ2.
  const g = tf.grad((th: tf.Tensor) =>
    tf.sum(tf.slice(affineGrid(th as tf.Tensor2D, [3, 4]), [0, 0, 0, 0], [-1, -1, -1, 1]))
  )(theta);
  const d = Array.from(await g.data());
  assert.deepEqual(d.map((v) => Math.round(v * 1e5) / 1e5), [0, 0, 12, 0, 0, 0]);
  tf.dispose([theta, g]);
});

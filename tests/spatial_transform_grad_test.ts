/**
 * Finite-difference checks of spatialTransform's gradients on small random cases, on every backend.
 *
 * The numeric gradient is a central difference of L = Σ upstream · output computed with the float64
 * reference sampler (tests/_reference_sampler.ts): with eps = 1e-6 its truncation error is O(eps²)
 * and its rounding error ~1e-16/eps ≈ 1e-10, far below the float32 kernels' own rounding (~1e-6
 * relative), so the tolerance 1e-4 · max(1, max|numeric|) measures the kernels alone. θ is random
 * so no sample sits within eps of a bilinear kink (an integer pixel coordinate) or a clip edge.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend, spatialTransform } from "../mod.ts";
import { BACKENDS, needs } from "./_backends.ts";
import {
  checkGradients,
  maxAbsError,
  prng,
  randomTheta,
  referenceForward,
  type RefOptions,
  uniform,
} from "./_reference_sampler.ts";

interface Case {
  shape: [number, number, number, number];
  k: number;
  out: [number, number];
  alignCorners: boolean;
  // The bilinear affine kernels' paddings; the others are tests/sampler_modes_*_test.ts'.
  paddingMode: "border" | "zeros";
  thetaRank: 2 | 3;
}

const CASES: Case[] = [];
for (const alignCorners of [true, false]) {
  for (const paddingMode of ["border", "zeros"] as const) {
    CASES.push({ shape: [2, 5, 7, 2], k: 2, out: [4, 5], alignCorners, paddingMode, thetaRank: 2 });
    CASES.push({ shape: [1, 6, 4, 3], k: 3, out: [3, 1], alignCorners, paddingMode, thetaRank: 3 });
  }
}

function numericGradients(
  image: Float32Array,
  shape: readonly number[],
  theta: Float32Array,
  upstream: Float32Array,
  o: RefOptions,
): { dImage: Float64Array; dTheta: Float64Array } {
  const loss = (im: ArrayLike<number>, th: ArrayLike<number>) => {
    const out = referenceForward(im, shape, th, o);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += upstream[i] * out[i];
    return s;
  };
  const central = (x: Float64Array, eps: number, f: () => number, i: number) => {
    const v = x[i];
    x[i] = v + eps;
    const up = f();
    x[i] = v - eps;
    const down = f();
    x[i] = v;
    return (up - down) / (2 * eps);
  };
  const im = Float64Array.from(image), th = Float64Array.from(theta);
  const f = () => loss(im, th);
  const dImage = Float64Array.from(im, (_, i) => central(im, 1e-3, f, i)); // L is linear in the image
  const dTheta = Float64Array.from(th, (_, i) => central(th, 1e-6, f, i));
  return { dImage, dTheta };
}

for (const backend of BACKENDS) {
  Deno.test({
    name: `spatialTransform gradients match central differences of a float64 reference (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const rand = prng(20151);
      const failures: string[] = [];
      for (const c of CASES) {
        const [n, , , ch] = c.shape;
        const m = n * c.k;
        const o: RefOptions = {
          outHeight: c.out[0],
          outWidth: c.out[1],
          alignCorners: c.alignCorners,
          paddingMode: c.paddingMode,
        };
        const imageData = uniform(rand, c.shape.reduce((a, b) => a * b));
        const thetaData = randomTheta(rand, m);
        const upstreamData = uniform(rand, m * c.out[0] * c.out[1] * ch);
        const numeric = numericGradients(imageData, c.shape, thetaData, upstreamData, o);

        const image = tf.tensor4d(imageData, c.shape);
        const theta = c.thetaRank === 2 ? tf.tensor2d(thetaData, [m, 6]) : tf.tensor3d(thetaData, [m, 2, 3]);
        const upstream = tf.tensor4d(upstreamData, [m, c.out[0], c.out[1], ch]);
        const options = { outputSize: c.out, alignCorners: c.alignCorners, paddingMode: c.paddingMode };
        const [dImage, dTheta] = tf.grads((im: tf.Tensor, th: tf.Tensor) =>
          tf.sum(tf.mul(spatialTransform(im as tf.Tensor4D, th as tf.Tensor2D, options), upstream))
        )([image, theta]);
        assert.deepEqual(dTheta.shape, theta.shape, "∂θ has θ's own shape");
        assert.deepEqual(dImage.shape, image.shape, "∂image has the image's shape");
        const tag = `[${c.shape}] k=${c.k} →${c.out.join("×")} align=${c.alignCorners} ${c.paddingMode}`;
        await checkGradients(tag, dImage, dTheta, numeric, failures);
        // A gradient that is identically zero would match a zero reference: make sure it is not.
        assert.ok(numeric.dTheta.some((v) => Math.abs(v) > 1e-3), `${tag}: the case exercises ∂θ`);
        tf.dispose([image, theta, upstream, dImage, dTheta]);
      }
      assert.deepEqual(failures, []);
    },
  });
}

for (const backend of BACKENDS) {
  Deno.test({
    name:
      `a sample exactly on the border gets the clipped side's (zero) gradient, as in PyTorch (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const rand = prng(5);
      const image = tf.tensor4d(uniform(rand, 5 * 6 * 2), [1, 5, 6, 2]);
      const upstream = tf.tensor4d(uniform(rand, 3 * 4 * 2), [1, 3, 4, 2]);
      const options = { outputSize: [3, 4] as [number, number], paddingMode: "border" as const };
      // x = 1 (the last output column) maps to gx = 0.5 + t2: exactly the right border for t2 = 0.5,
      // where ix = (gx + 1) / 2 · (W - 1) = 5 is exact in float32 and float64. Other columns and all
      // rows stay off integer coordinates (kinks of the bilinear weights).
      const dTheta = async (t2: number) => {
        const theta = tf.tensor2d([[0.5, 0, t2, 0, 0.37, 0.11]]);
        const g = tf.grad((th: tf.Tensor) =>
          tf.sum(tf.mul(spatialTransform(image, th as tf.Tensor2D, options), upstream))
        )(theta);
        const d = await g.data();
        tf.dispose([theta, g]);
        return d;
      };
      const exact = await dTheta(0.5),
        outside = await dTheta(0.5 + 2 ** -20),
        inside = await dTheta(0.5 - 2 ** -20);
      const { err, tol } = maxAbsError(exact, outside);
      assert.ok(err <= tol, `∂θ on the border ${exact} should equal the clipped side's ${outside}`);
      // The rule matters here: from inside, the last column contributes to ∂θ0 and ∂θ2.
      assert.ok(Math.abs(inside[2] - exact[2]) > 1e-3, `inside ${inside} and on the border ${exact} differ`);
      tf.dispose([image, upstream]);
    },
  });
}

/**
 * Finite-difference checks of the gradients of every sampler mode × padding × (affine, projective),
 * on every backend: central differences of L = Σ upstream · output computed with the independent
 * float64 reference (`tests/_reference_modes.ts`), eps = 1e-6 for θ (truncation O(eps²), rounding
 * ~1e-10) and 1e-3 for the image (L is linear in it). Tolerance 1e-4 · max(1, max|numeric|), as the
 * golden tests. Random θ keeps samples off the kinks (whole and half pixel coordinates) by far more
 * than eps. Nearest has a zero θ gradient (piecewise constant), which the difference confirms.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { type PaddingMode, type SampleMode, selectBackend, spatialTransform } from "../mod.ts";
import { BACKENDS, needs } from "./_backends.ts";
import { checkGradients, maxAbsError, prng, randomTheta, uniform } from "./_reference_sampler.ts";
import { type ModeRefOptions, randomHomography, referenceSample } from "./_reference_modes.ts";
import { MODE_CASES, modeLabel } from "./_mode_goldens.ts";

interface Case extends ModeRefOptions {
  shape: [number, number, number, number];
  k: number;
  params: 6 | 9;
}

const CASES: Case[] = [];
for (const mode of ["nearest", "bicubic", "bilinear"] as SampleMode[]) {
  for (const paddingMode of ["zeros", "border", "reflection"] as PaddingMode[]) {
    for (const params of [6, 9] as const) {
      // Bilinear affine zeros/border is the existing kernels' (tests/spatial_transform_grad_test.ts).
      if (mode === "bilinear" && params === 6 && paddingMode !== "reflection") continue;
      const alignCorners = CASES.length % 2 === 0;
      const shape: Case["shape"] = CASES.length % 3 === 0 ? [1, 6, 5, 3] : [2, 5, 7, 1];
      CASES.push({ shape, k: 2, params, outHeight: 4, outWidth: 5, alignCorners, paddingMode, mode });
    }
  }
}

function numericGradients(
  image: Float32Array,
  theta: Float32Array,
  upstream: Float32Array,
  c: Case,
): { dImage: Float64Array; dTheta: Float64Array } {
  const im = Float64Array.from(image), th = Float64Array.from(theta);
  const loss = () => {
    const out = referenceSample(im, c.shape, th, c.params, c);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += upstream[i] * out[i];
    return s;
  };
  const central = (x: Float64Array, eps: number, i: number) => {
    const v = x[i];
    x[i] = v + eps;
    const up = loss();
    x[i] = v - eps;
    const down = loss();
    x[i] = v;
    return (up - down) / (2 * eps);
  };
  return {
    dImage: Float64Array.from(im, (_, i) => central(im, 1e-3, i)),
    dTheta: Float64Array.from(th, (_, i) => central(th, 1e-6, i)),
  };
}

for (const backend of BACKENDS) {
  Deno.test({
    name: `every sampler mode's gradients match central differences of a float64 reference (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const rand = prng(2026);
      const failures: string[] = [];
      for (const c of CASES) {
        const m = c.shape[0] * c.k, ch = c.shape[3];
        const imageData = uniform(rand, c.shape.reduce((a, b) => a * b));
        const thetaData = c.params === 9 ? randomHomography(rand, m) : randomTheta(rand, m);
        const upstreamData = uniform(rand, m * c.outHeight * c.outWidth * ch);
        const numeric = numericGradients(imageData, thetaData, upstreamData, c);
        const image = tf.tensor4d(imageData, c.shape);
        const theta = tf.tensor2d(thetaData, [m, c.params]);
        const upstream = tf.tensor4d(upstreamData, [m, c.outHeight, c.outWidth, ch]);
        const options = {
          outputSize: [c.outHeight, c.outWidth] as [number, number],
          alignCorners: c.alignCorners,
          paddingMode: c.paddingMode,
          mode: c.mode,
        };
        const [dImage, dTheta] = tf.grads((im: tf.Tensor, th: tf.Tensor) =>
          tf.sum(tf.mul(spatialTransform(im as tf.Tensor4D, th as tf.Tensor2D, options), upstream))
        )([image, theta]);
        const tag = `${c.mode} ${c.paddingMode} align=${c.alignCorners} P=${c.params} [${c.shape}]`;
        await checkGradients(tag, dImage, dTheta, numeric, failures);
        // A gradient that is identically zero would match a zero reference: make sure it is not.
        const exercised = numeric.dTheta.some((v) => Math.abs(v) > 1e-3);
        assert.equal(exercised, c.mode !== "nearest", `${tag}: ∂θ is non-zero exactly for the smooth modes`);
        tf.dispose([image, theta, upstream, dImage, dTheta]);
      }
      assert.deepEqual(failures, []);
    },
  });
}

Deno.test("the float64 reference itself reproduces PyTorch's outputs on the 36 golden cases", () => {
  const failures: string[] = [];
  for (const c of MODE_CASES) {
    // The JSON prints float32 inputs to 9 digits: round them back to the float32s PyTorch used.
    const image = Float32Array.from(c.image), theta = Float32Array.from(c.theta);
    const out = referenceSample(image, c.image_shape, theta, c.theta_shape[1] as 6 | 9, {
      outHeight: c.output_size[0],
      outWidth: c.output_size[1],
      alignCorners: c.align_corners,
      paddingMode: c.padding_mode,
      mode: c.mode,
    });
    const { err } = maxAbsError(out, c.output);
    if (!(err <= 1e-9)) failures.push(`${modeLabel(c)}: max-abs error ${err}`);
  }
  assert.deepEqual(failures, []);
});

/**
 * Cross-backend parity of spatialTransform on random shapes (C = 1..4, k = 1..3, odd sizes): every
 * backend against the float64 reference sampler, every non-cpu backend against cpu (output, ∂image,
 * ∂θ), and the identity θ returning the image on every backend.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend, spatialTransform } from "../mod.ts";
import { BACKENDS, needs } from "./_backends.ts";
import { maxAbsError, prng, randomTheta, referenceForward, uniform } from "./_reference_sampler.ts";

interface Case {
  shape: [number, number, number, number];
  k: number;
  out: [number, number];
  alignCorners: boolean;
  // The bilinear affine kernels' paddings; the others are tests/sampler_modes_*_test.ts'.
  paddingMode: "border" | "zeros";
  image: Float32Array;
  theta: Float32Array;
  upstream: Float32Array;
}

/** Random cases from one seed: odd sizes (and a few even ones), C = 1..4, k = 1..3. */
function randomCases(count: number): Case[] {
  const rand = prng(2015);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const odd = (lo: number, hi: number) => int(lo, hi) | 1;
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const shape: [number, number, number, number] = [int(1, 3), odd(3, 21), odd(3, 21), 1 + (i % 4)];
    const k = 1 + (i % 3);
    const out: [number, number] = [odd(1, 13), i % 5 === 0 ? int(2, 12) : odd(1, 13)];
    const m = shape[0] * k;
    cases.push({
      shape,
      k,
      out,
      alignCorners: i % 2 === 0,
      paddingMode: i % 4 < 2 ? "border" : "zeros",
      image: uniform(rand, shape.reduce((a, b) => a * b)),
      theta: randomTheta(rand, m),
      upstream: uniform(rand, m * out[0] * out[1] * shape[3]),
    });
  }
  return cases;
}

const CASES = randomCases(12);

/** Output, ∂image and ∂θ of one case on the active backend. */
async function run(c: Case): Promise<Float32Array[]> {
  const m = c.shape[0] * c.k;
  const options = { outputSize: c.out, alignCorners: c.alignCorners, paddingMode: c.paddingMode };
  const image = tf.tensor4d(c.image, c.shape);
  const theta = tf.tensor2d(c.theta, [m, 6]);
  const upstream = tf.tensor4d(c.upstream, [m, c.out[0], c.out[1], c.shape[3]]);
  const output = spatialTransform(image, theta, options);
  const grads = tf.grads((im: tf.Tensor, th: tf.Tensor) =>
    tf.sum(tf.mul(spatialTransform(im as tf.Tensor4D, th as tf.Tensor2D, options), upstream))
  )([image, theta]);
  const result = [await output.data(), await grads[0].data(), await grads[1].data()] as Float32Array[];
  tf.dispose([image, theta, upstream, output, ...grads]);
  return result;
}

const tag = (c: Case) => `[${c.shape}] k=${c.k} →${c.out.join("×")} align=${c.alignCorners} ${c.paddingMode}`;

let cpuResults: Float32Array[][] | undefined;
async function onCpu(): Promise<Float32Array[][]> {
  if (!cpuResults) {
    await selectBackend("cpu");
    cpuResults = [];
    for (const c of CASES) cpuResults.push(await run(c));
  }
  return cpuResults;
}

for (const backend of BACKENDS) {
  Deno.test({
    name: `spatialTransform on random shapes matches the float64 reference (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const failures: string[] = [];
      for (const c of CASES) {
        const [out] = await run(c);
        const ref = referenceForward(c.image, c.shape, c.theta, {
          outHeight: c.out[0],
          outWidth: c.out[1],
          alignCorners: c.alignCorners,
          paddingMode: c.paddingMode,
        });
        const { err, tol } = maxAbsError(out, ref);
        if (!(err <= tol)) failures.push(`${tag(c)} output: ${err} > ${tol}`);
      }
      assert.deepEqual(failures, []);
    },
  });

  if (backend !== "cpu") {
    Deno.test({
      name: `spatialTransform output, ∂image and ∂θ on ${backend} match cpu on random shapes`,
      ...needs(backend),
      fn: async () => {
        const expected = await onCpu();
        await selectBackend(backend);
        const failures: string[] = [];
        for (let i = 0; i < CASES.length; i++) {
          const actual = await run(CASES[i]);
          ["output", "∂image", "∂θ"].forEach((what, j) => {
            const { err, tol } = maxAbsError(actual[j], expected[i][j]);
            if (!(err <= tol)) failures.push(`${tag(CASES[i])} ${what}: ${err} > ${tol}`);
          });
        }
        assert.deepEqual(failures, []);
      },
    });
  }

  Deno.test({
    name: `the identity θ returns the image (alignCorners true, both paddings) (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const rand = prng(99);
      for (const [n, h, w, c, k] of [[2, 7, 9, 3, 2], [1, 13, 5, 1, 3], [3, 4, 6, 4, 1]]) {
        const data = uniform(rand, n * h * w * c);
        for (const paddingMode of ["border", "zeros"] as const) {
          const out = tf.tidy(() => {
            const image = tf.tensor4d(data, [n, h, w, c]);
            const theta = tf.tile(tf.tensor2d([[1, 0, 0, 0, 1, 0]]), [n * k, 1]) as tf.Tensor2D;
            return spatialTransform(image, theta, { paddingMode });
          });
          const values = await out.data();
          out.dispose();
          // Row r is image floor(r / k): compare every row with its image.
          for (let r = 0; r < n * k; r++) {
            const b = Math.floor(r / k), size = h * w * c;
            const { err } = maxAbsError(
              values.subarray(r * size, (r + 1) * size),
              data.subarray(b * size, (b + 1) * size),
            );
            assert.ok(
              err <= 1e-5,
              `[${n},${h},${w},${c}] k=${k} ${paddingMode} row ${r}: max-abs error ${err}`,
            );
          }
        }
      }
    },
  });
}

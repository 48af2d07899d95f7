/**
 * The general sampler (every mode × padding, affine and projective θ) across backends on cases the
 * goldens do not cover: more channels (C = 5), k = 2 glimpses per image, and θ rows that are NaN,
 * infinite, or (projective) put a zero denominator on some pixels. Every backend's output and both
 * gradients agree with cpu's; non-finite points read 0 and pass no gradient; huge θ reads and
 * writes nothing out of range. On WebGPU the backward pass is bitwise identical over repeated runs
 * for every mode, padding and θ kind.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend, spatialTransform } from "../mod.ts";
import type {
  PaddingMode,
  SampleMode,
  SpatialTransformAttrs,
} from "../src/kernels/spatial_transform_spec.ts";
import { BACKENDS, needs } from "./_backends.ts";
import { type KernelCase, type KernelResult, runKernels } from "./_sampler_cases.ts";
import { maxAbsError, prng, randomTheta, uniform } from "./_reference_sampler.ts";
import { randomHomography } from "./_reference_modes.ts";

const MODES: SampleMode[] = ["bilinear", "nearest", "bicubic"];
const PADDINGS: PaddingMode[] = ["zeros", "border", "reflection"];

/** Rows appended to a case's θ: NaN, +Inf, then a huge row (affine) or a denominator of 0 along x = 0. */
function badRows(params: 6 | 9): number[][] {
  const eye = params === 9 ? [1, 0, 0, 0, 1, 0, 0, 0, 1] : [1, 0, 0, 0, 1, 0];
  const nan = [...eye], inf = [...eye];
  nan[1] = NaN;
  // Projective: an infinite denominator, which must not read as gx = gy = 0.
  inf[params === 9 ? 8 : 5] = Infinity;
  return params === 9 ? [nan, inf, [1, 0, 0, 0, 1, 0, 1, 0, 0]] : [nan, inf, [2e30, 0, 0, 0, -3e30, 1e30]];
}

function makeCase(seed: number, mode: SampleMode, paddingMode: PaddingMode, params: 6 | 9): KernelCase {
  const rand = prng(seed);
  const shape: [number, number, number, number] = [3, 9, 8, 5];
  const attrs: SpatialTransformAttrs = {
    outHeight: 6,
    outWidth: 7,
    alignCorners: seed % 2 === 0,
    paddingMode,
    mode,
  };
  // k = 2: three good rows, then the three bad ones (image 1's second row and image 2's two rows).
  const good = params === 9 ? randomHomography(rand, 3) : randomTheta(rand, 3);
  const theta = [...good, ...badRows(params).flat()];
  const m = theta.length / params;
  return {
    shape,
    image: uniform(rand, shape.reduce((a, b) => a * b)),
    theta,
    params,
    dy: uniform(rand, m * attrs.outHeight * attrs.outWidth * shape[3]),
    attrs,
  };
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

const VARIANTS = MODES.flatMap((mode) =>
  PADDINGS.flatMap((paddingMode) => ([6, 9] as const).map((params) => ({ mode, paddingMode, params })))
);

Deno.test("general sampler on cpu: non-finite points read 0 and pass no gradient; huge θ stays in range", async () => {
  await selectBackend("cpu");
  for (const [i, v] of VARIANTS.entries()) {
    const c = makeCase(i, v.mode, v.paddingMode, v.params);
    const r = await runKernels(c);
    const perRow = 6 * 7 * 5;
    // Row 3 (NaN) and row 4 (+Inf) read nothing and pass nothing to θ.
    assert.ok(r.output.slice(3 * perRow, 5 * perRow).every((x) => x === 0), `${v.mode} ${v.paddingMode}`);
    assert.ok(r.dTheta.slice(3 * v.params, 5 * v.params).every((x) => x === 0));
    for (const values of [r.output, r.dImage, r.dTheta]) assert.ok(values.every(Number.isFinite));
  }
});

for (const backend of BACKENDS.filter((b) => b !== "cpu")) {
  Deno.test({
    name:
      `general sampler: ${backend} matches cpu for every mode × padding × θ kind (C = 5, k = 2, bad rows)`,
    ...needs(backend),
    fn: async () => {
      const failures: string[] = [];
      for (const [i, v] of VARIANTS.entries()) {
        const c = makeCase(i, v.mode, v.paddingMode, v.params);
        await selectBackend("cpu");
        const cpu = await runKernels(c);
        await selectBackend(backend);
        const other: KernelResult = await runKernels(c);
        // Huge θ (the sixth affine row) folds to different pixels in float32 and float64 under
        // reflection: there only safety is asked (finite values), not agreement.
        const skipLastRow = v.params === 6;
        const perRow = 6 * 7 * 5;
        const rowsOf = (a: Float32Array, per: number) => skipLastRow ? a.slice(0, 5 * per) : a;
        for (
          const [what, a, b] of [
            ["output", rowsOf(other.output, perRow), rowsOf(cpu.output, perRow)],
            ["∂θ", rowsOf(other.dTheta, v.params), rowsOf(cpu.dTheta, v.params)],
            // Image 2 is sampled only by bad rows (NaN, Inf, huge): compare images 0 and 1.
            ["∂image", other.dImage.slice(0, 2 * 9 * 8 * 5), cpu.dImage.slice(0, 2 * 9 * 8 * 5)],
          ] as const
        ) {
          const { err, tol } = maxAbsError(a, b);
          if (!(err <= tol)) {
            failures.push(`${v.mode} ${v.paddingMode} P=${v.params} ${what}: ${err} > ${tol}`);
          }
        }
        for (const values of [other.output, other.dImage, other.dTheta]) {
          if (!values.every(Number.isFinite)) {
            failures.push(`${v.mode} ${v.paddingMode} P=${v.params}: non-finite`);
          }
        }
      }
      assert.deepEqual(failures, []);
    },
  });
}

Deno.test({
  name: "webgpu backward is bitwise deterministic for every mode × padding × θ kind",
  ...needs("webgpu"),
  fn: async () => {
    await selectBackend("webgpu");
    for (const [i, v] of VARIANTS.entries()) {
      const c = makeCase(100 + i, v.mode, v.paddingMode, v.params);
      const first = await runKernels(c);
      for (let run = 0; run < 2; run++) {
        const again = await runKernels(c);
        const tag = `${v.mode} ${v.paddingMode} P=${v.params}`;
        assert.deepEqual(bits(again.output), bits(first.output), `${tag} forward`);
        assert.deepEqual(bits(again.dImage), bits(first.dImage), `${tag} ∂image`);
        assert.deepEqual(bits(again.dTheta), bits(first.dTheta), `${tag} ∂θ`);
      }
    }
  },
});

for (const backend of BACKENDS) {
  Deno.test({
    name: `nearest rounds half to even, as PyTorch's nearbyint (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      // W = 4, align_corners false, x + 0.25: ix = 0.5, 1.5, 2.5, 3.5 exactly (in float32 too).
      const image = tf.tensor4d([10, 20, 30, 40], [1, 1, 4, 1]);
      const theta = tf.tensor2d([[1, 0, 0.25, 0, 1, 0]]);
      // PyTorch 1.13: F.grid_sample(..., mode="nearest", align_corners=False) gives these.
      for (
        const [paddingMode, expected] of [["zeros", [10, 30, 30, 0]], ["border", [10, 30, 30, 40]]] as const
      ) {
        const out = spatialTransform(image, theta, { alignCorners: false, mode: "nearest", paddingMode });
        assert.deepEqual(Array.from(await out.data()), expected, paddingMode);
        out.dispose();
      }
      tf.dispose([image, theta]);
    },
  });
}

Deno.test({
  name:
    "webgpu ∂image's bounded gather finds every contribution on larger images (zeros, border; affine, projective)",
  ...needs("webgpu"),
  fn: async () => {
    const failures: string[] = [];
    const rand = prng(77);
    for (const mode of MODES) {
      for (const paddingMode of ["zeros", "border"] as PaddingMode[]) {
        for (const params of [6, 9] as const) {
          const shape: [number, number, number, number] = [2, 31, 37, 2];
          const attrs: SpatialTransformAttrs = {
            outHeight: 23,
            outWidth: 19,
            alignCorners: rand() < 0.5,
            paddingMode,
            mode,
          };
          // Rotations up to ±1 rad, scales 0.3–1.5 (zoom in and out), strong perspective.
          const theta: number[] = [];
          for (let r = 0; r < 4; r++) {
            const a = 2 * rand() - 1, s = 0.3 + 1.2 * rand(), tx = rand() - 0.5, ty = rand() - 0.5;
            theta.push(s * Math.cos(a), -s * Math.sin(a), tx, s * Math.sin(a), s * Math.cos(a), ty);
            if (params === 9) theta.push(0.8 * (rand() - 0.5), 0.8 * (rand() - 0.5), 1);
          }
          const c: KernelCase = {
            shape,
            image: uniform(rand, shape.reduce((x, y) => x * y)),
            theta,
            params,
            dy: uniform(rand, 4 * 23 * 19 * 2),
            attrs,
          };
          await selectBackend("cpu");
          const cpu = await runKernels(c);
          await selectBackend("webgpu");
          const gpu = await runKernels(c);
          const { err, tol } = maxAbsError(gpu.dImage, cpu.dImage);
          if (!(err <= tol)) failures.push(`${mode} ${paddingMode} P=${params}: ∂image ${err} > ${tol}`);
        }
      }
    }
    assert.deepEqual(failures, []);
  },
});

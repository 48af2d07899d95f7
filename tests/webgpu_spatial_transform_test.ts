/**
 * The webgpu spatial-transform kernels, called directly through the kernel registry (no op in
 * between): PyTorch golden cases, agreement with the cpu kernels on random shapes and on
 * degenerate / huge θ, k glimpses per image, determinism of ∂image and ∂θ, NaN/Inf θ rows.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import {
  SPATIAL_TRANSFORM,
  SPATIAL_TRANSFORM_GRAD,
  type SpatialTransformAttrs,
} from "../src/kernels/spatial_transform_spec.ts";
import { needs } from "./_backends.ts";
import { goldenFailures, type KernelCase, type KernelResult, runKernels } from "./_sampler_cases.ts";
import { maxAbsError, prng, randomTheta, uniform } from "./_reference_sampler.ts";

/** The same case on cpu (the float64 reference kernels) and on webgpu. */
async function cpuAndWebGpu(c: KernelCase): Promise<[KernelResult, KernelResult]> {
  await selectBackend("cpu");
  const cpu = await runKernels(c);
  await selectBackend("webgpu");
  return [cpu, await runKernels(c)];
}

function randomCase(
  rand: () => number,
  shape: [number, number, number, number],
  k: number,
  attrs: SpatialTransformAttrs,
): KernelCase {
  const m = shape[0] * k;
  return {
    shape,
    image: uniform(rand, shape.reduce((a, b) => a * b)),
    theta: randomTheta(rand, m),
    dy: uniform(rand, m * attrs.outHeight * attrs.outWidth * shape[3]),
    attrs,
  };
}

function checkClose(
  failures: string[],
  what: string,
  actual: Float32Array,
  expected: ArrayLike<number>,
): void {
  const { err, tol } = maxAbsError(actual, expected);
  if (!(err <= tol)) failures.push(`${what}: max-abs error ${err} > ${tol}`);
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

/** Rows r (and their θ/dy) of a case with `perRow` output elements per row. */
function rows<T extends Float32Array | number[]>(values: T, picks: number[], perRow: number): number[] {
  return picks.flatMap((r) => Array.from(values.slice(r * perRow, (r + 1) * perRow)));
}

Deno.test({
  name: "webgpu kernels match PyTorch on the 16 golden cases (output, ∂image, ∂θ)",
  ...needs("webgpu"),
  fn: async () => {
    await selectBackend("webgpu");
    assert.deepEqual(await goldenFailures(), []);
  },
});

Deno.test({
  name: "webgpu kernels agree with the cpu kernels on random odd shapes, C = 1..4, k = 1..3",
  ...needs("webgpu"),
  fn: async () => {
    const rand = prng(20251124);
    const failures: string[] = [];
    const shapes: [number, number, number, number][] = [[1, 5, 7, 1], [2, 9, 6, 2], [3, 11, 13, 3], [
      1,
      8,
      5,
      4,
    ]];
    let s = 0;
    for (const alignCorners of [true, false]) {
      for (const paddingMode of ["border", "zeros"] as const) {
        const shape = shapes[s++ % shapes.length];
        const k = 1 + (s % 3);
        const attrs = { outHeight: 3 + s, outWidth: 8 - s, alignCorners, paddingMode };
        const c = randomCase(rand, shape, k, attrs);
        const [cpu, gpu] = await cpuAndWebGpu(c);
        const tag =
          `[${shape}] k=${k} → ${attrs.outHeight}×${attrs.outWidth} align=${alignCorners} ${paddingMode}`;
        checkClose(failures, `${tag} output`, gpu.output, cpu.output);
        checkClose(failures, `${tag} ∂image`, gpu.dImage, cpu.dImage);
        checkClose(failures, `${tag} ∂θ`, gpu.dTheta, cpu.dTheta);
      }
    }
    assert.deepEqual(failures, []);
  },
});

Deno.test({
  name: "webgpu ∂image gather finds every tap under rotation, shear, zoom in/out and far shifts",
  ...needs("webgpu"),
  fn: async () => {
    const rand = prng(424242);
    const failures: string[] = [];
    const k = 16;
    for (const alignCorners of [true, false]) {
      for (const paddingMode of ["border", "zeros"] as const) {
        // Random rotation, anisotropic scale from 0.05 (many outputs per input pixel) to 3 (zoomed
        // out past the edges), shear, and translations that push the grid partly off the image.
        const theta = new Float32Array(2 * k * 6);
        for (let r = 0; r < 2 * k; r++) {
          const a = 2 * Math.PI * rand(), sx = 0.05 + 2.95 * rand(), sy = 0.05 + 2.95 * rand();
          const shear = rand() - 0.5, t = () => 3 * (rand() - 0.5);
          const [cos, sin] = [Math.cos(a), Math.sin(a)];
          theta.set([sx * cos, -sy * sin + shear, t(), sx * sin, sy * cos, t()], r * 6);
        }
        const attrs = { outHeight: 9, outWidth: 11, alignCorners, paddingMode };
        const c: KernelCase = {
          shape: [2, 13, 10, 1],
          image: uniform(rand, 2 * 13 * 10),
          theta,
          dy: uniform(rand, 2 * k * 9 * 11),
          attrs,
        };
        const [cpu, gpu] = await cpuAndWebGpu(c);
        const tag = `align=${alignCorners} ${paddingMode}`;
        checkClose(failures, `${tag} output`, gpu.output, cpu.output);
        checkClose(failures, `${tag} ∂image`, gpu.dImage, cpu.dImage);
        checkClose(failures, `${tag} ∂θ`, gpu.dTheta, cpu.dTheta);
      }
    }
    assert.deepEqual(failures, []);
  },
});

Deno.test({
  name: "webgpu: k glimpses of one image equal k separate runs, and ∂image is their sum",
  ...needs("webgpu"),
  fn: async () => {
    await selectBackend("webgpu");
    const rand = prng(7);
    const k = 3;
    const shape: [number, number, number, number] = [2, 10, 9, 2];
    const attrs = { outHeight: 6, outWidth: 5, alignCorners: false, paddingMode: "zeros" as const };
    const full = randomCase(rand, shape, k, attrs);
    const whole = await runKernels(full);
    const perRow = attrs.outHeight * attrs.outWidth * shape[3];
    const sum = new Float64Array(whole.dImage.length);
    for (let g = 0; g < k; g++) {
      const picks = [g, k + g]; // glimpse g of image 0 and of image 1
      const part = await runKernels({
        ...full,
        theta: rows(full.theta, picks, 6),
        dy: rows(full.dy, picks, perRow),
      });
      // Rows are independent: bit-for-bit the same as inside the k-glimpse run.
      assert.deepEqual(bits(part.output), bits(Float32Array.from(rows(whole.output, picks, perRow))));
      assert.deepEqual(bits(part.dTheta), bits(Float32Array.from(rows(whole.dTheta, picks, 6))));
      part.dImage.forEach((v, i) => sum[i] += v);
    }
    const { err, tol } = maxAbsError(whole.dImage, sum);
    assert.ok(err <= tol * 1e-2, `∂image of k glimpses vs the sum of k runs: ${err} > ${tol * 1e-2}`);
  },
});

Deno.test({
  name: "webgpu backward is deterministic: repeated runs give bitwise-identical ∂image and ∂θ",
  ...needs("webgpu"),
  fn: async () => {
    await selectBackend("webgpu");
    const rand = prng(99);
    const c = randomCase(rand, [2, 23, 19, 3], 2, {
      outHeight: 13,
      outWidth: 11,
      alignCorners: true,
      paddingMode: "border",
    });
    const first = await runKernels(c);
    for (let run = 0; run < 3; run++) {
      const again = await runKernels(c);
      assert.deepEqual(bits(again.output), bits(first.output), "forward");
      assert.deepEqual(bits(again.dImage), bits(first.dImage), "∂image");
      assert.deepEqual(bits(again.dTheta), bits(first.dTheta), "∂θ");
    }
  },
});

Deno.test({
  name: "webgpu: NaN/±Inf θ rows give zeros for that row only (output, ∂θ) and nothing to ∂image",
  ...needs("webgpu"),
  fn: async () => {
    await selectBackend("webgpu");
    const rand = prng(3);
    for (const paddingMode of ["border", "zeros"] as const) {
      const attrs = { outHeight: 5, outWidth: 6, alignCorners: true, paddingMode };
      const good = randomCase(rand, [1, 7, 8, 2], 1, attrs);
      const bad = [[NaN, 0, 0, 0, 1, 0], [1, Infinity, 0, 0, 1, 0], [1, 0, 0, 0, 1, -Infinity]];
      const theta = [...good.theta, ...bad.flat()];
      const perRow = 5 * 6 * 2;
      const dy = [...good.dy, ...uniform(rand, 3 * perRow)];
      const mixed = await runKernels({ ...good, theta, dy });
      const alone = await runKernels(good);
      assert.deepEqual(bits(mixed.output.slice(0, perRow)), bits(alone.output), "good row unchanged");
      assert.ok(mixed.output.slice(perRow).every((v) => v === 0), "bad rows sample zeros");
      assert.deepEqual(bits(mixed.dTheta.slice(0, 6)), bits(alone.dTheta), "good row's ∂θ unchanged");
      assert.ok(mixed.dTheta.slice(6).every((v) => v === 0), "bad rows get zero ∂θ");
      assert.deepEqual(bits(mixed.dImage), bits(alone.dImage), "bad rows add nothing to ∂image");
    }
  },
});

Deno.test({
  name: "webgpu: huge, degenerate and far-out θ stay in bounds and agree with the cpu kernels",
  ...needs("webgpu"),
  fn: async () => {
    const rand = prng(11);
    const robust = [
      [1e30, 0, 0, 0, 1e30, 0], // everything but the centre pixel maps far outside
      [-3e38, 0, 0, 0, 3e38, 0], // largest finite scale, no f32 overflow (|x|, |y| ≤ 1)
      [0, 0, 0, 0, 0, 0], // singular: every sample at the centre
      [1e-7, 0, 0.3, 0, 1e-7, -0.2], // nearly singular
      [0, 1, 0, 1, 0, 0], // transpose: ix independent of j
      [50, 0, 0, 0, 50, 0], // strong zoom
      [1, 0, 1e6, 0, 1, -1e6], // translated far away
      [0.7, -0.4, 0.1, 0.3, 0.9, -0.1], // an ordinary row among them
    ];
    const failures: string[] = [];
    for (const alignCorners of [true, false]) {
      for (const paddingMode of ["border", "zeros"] as const) {
        const attrs = { outHeight: 5, outWidth: 7, alignCorners, paddingMode };
        const shape: [number, number, number, number] = [1, 6, 9, 2];
        const m = robust.length;
        const c: KernelCase = {
          shape,
          image: uniform(rand, 6 * 9 * 2),
          theta: robust.flat(),
          dy: uniform(rand, m * 5 * 7 * 2),
          attrs,
        };
        const [cpu, gpu] = await cpuAndWebGpu(c);
        const tag = `align=${alignCorners} ${paddingMode}`;
        checkClose(failures, `${tag} output`, gpu.output, cpu.output);
        checkClose(failures, `${tag} ∂image`, gpu.dImage, cpu.dImage);
        assert.ok(gpu.dTheta.every(Number.isFinite), `${tag}: ∂θ finite`);
        // f32 overflow of gx (|θ| ≈ 3e38 summed) counts as an infinite coordinate: zeros, no crash.
        const overflow = await runKernels({
          ...c,
          theta: [3e38, 3e38, 3e38, 3e38, 3e38, 3e38],
          dy: c.dy.slice(0, 70),
        });
        assert.ok([...overflow.output, ...overflow.dImage, ...overflow.dTheta].every(Number.isFinite), tag);
      }
    }
    assert.deepEqual(failures, []);
  },
});

Deno.test({
  name: "webgpu ∂θ handles more rows than one dispatch dimension holds (65535 workgroups)",
  ...needs("webgpu"),
  fn: async () => {
    const rand = prng(5);
    const n = 66000;
    const c = randomCase(rand, [n, 2, 2, 1], 1, {
      outHeight: 1,
      outWidth: 2,
      alignCorners: false,
      paddingMode: "border",
    });
    const [cpu, gpu] = await cpuAndWebGpu(c);
    const failures: string[] = [];
    checkClose(failures, "output", gpu.output, cpu.output);
    checkClose(failures, "∂image", gpu.dImage, cpu.dImage);
    checkClose(failures, "∂θ", gpu.dTheta, cpu.dTheta);
    assert.deepEqual(failures, []);
  },
});

Deno.test({
  name: "webgpu forward and ∂image cover more than 65535 × 64 invocations (folded dispatch)",
  ...needs("webgpu"),
  fn: async () => {
    await selectBackend("cpu");
    const rand = prng(17);
    const side = 2049; // 2049² > 65535 · 64: tfjs folds the dispatch into two dimensions
    const attrs = { outHeight: side, outWidth: side, alignCorners: true, paddingMode: "zeros" as const };
    const image = tf.tensor4d(uniform(rand, 9), [1, 3, 3, 1]);
    const theta = tf.tensor2d(randomTheta(rand, 1), [1, 6]);
    const big = tf.tensor4d(uniform(rand, side * side), [1, side, side, 1]);
    const dy = tf.tensor4d(uniform(rand, 9), [1, 3, 3, 1]);
    const small = { outHeight: 3, outWidth: 3, alignCorners: true, paddingMode: "zeros" as const };
    const results: Float32Array[][] = [];
    for (const backend of ["cpu", "webgpu"] as const) {
      await selectBackend(backend);
      // deno-lint-ignore no-explicit-any
      const output = tf.engine().runKernel(SPATIAL_TRANSFORM, { image, theta }, attrs as any) as tf.Tensor;
      const grads = tf.engine().runKernel(
        SPATIAL_TRANSFORM_GRAD,
        { dy, image: big, theta },
        // deno-lint-ignore no-explicit-any
        small as any,
      ) as tf.Tensor[];
      results.push([await output.data() as Float32Array, await grads[0].data() as Float32Array]);
      tf.dispose([output, ...grads]);
    }
    tf.dispose([image, theta, big, dy]);
    const failures: string[] = [];
    checkClose(failures, "output", results[1][0], results[0][0]);
    checkClose(failures, "∂image", results[1][1], results[0][1]);
    assert.deepEqual(failures, []);
  },
});

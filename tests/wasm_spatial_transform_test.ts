/**
 * The wasm (Rust, SIMD128) spatial-transform kernels, run directly through `runKernel`: PyTorch's
 * golden cases, non-finite and huge θ, and parity with a float64 reference and with the cpu kernels
 * on random shapes (C = 1..6 covers both the column-SIMD and the channel-SIMD paths and their tails).
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import {
  SPATIAL_TRANSFORM,
  SPATIAL_TRANSFORM_GRAD,
  type SpatialTransformAttrs,
} from "../src/kernels/spatial_transform_spec.ts";
import { compare } from "./_golden.ts";
import { goldenFailures, type KernelCase, type KernelResult, runKernels } from "./_sampler_cases.ts";
import { prng } from "./_random.ts";

/** The wasm tests edit θ and dy in place, so their cases hold typed arrays. */
interface Case extends KernelCase {
  image: Float32Array;
  theta: Float32Array;
  dy: Float32Array;
}

/**
 * Float64 reference, transcribed tap by tap from PyTorch's grid_sampler_2d (forward and backward)
 * and the spec; independent of both kernels' code.
 */
function reference(c: Case): { out: Float64Array; dImage: Float64Array; dTheta: Float64Array } {
  const [n, H, W, C] = c.shape;
  const { outHeight: h, outWidth: w, alignCorners: ac, paddingMode } = c.attrs;
  const m = c.theta.length / 6, k = m / n;
  const out = new Float64Array(m * h * w * C), dImage = new Float64Array(c.image.length);
  const dTheta = new Float64Array(m * 6);
  const norm = (i: number, s: number) => ac ? (s > 1 ? -1 + (2 * i) / (s - 1) : 0) : (2 * i + 1) / s - 1;
  const pix = (g: number, s: number) => ac ? ((g + 1) / 2) * (s - 1) : ((g + 1) * s - 1) / 2;
  const [sx, sy] = ac ? [(W - 1) / 2, (H - 1) / 2] : [W / 2, H / 2];
  for (let r = 0; r < m; r++) {
    const t = c.theta.subarray(r * 6, r * 6 + 6), b = Math.floor(r / k);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const x = norm(j, w), y = norm(i, h);
        const gx = t[0] * x + t[1] * y + t[2], gy = t[3] * x + t[4] * y + t[5];
        if (!Number.isFinite(gx) || !Number.isFinite(gy)) continue;
        let ix = pix(gx, W), iy = pix(gy, H), mx = sx, my = sy;
        if (paddingMode === "border") {
          if (!(ix > 0 && ix < W - 1)) mx = 0;
          if (!(iy > 0 && iy < H - 1)) my = 0;
          ix = Math.min(Math.max(ix, 0), W - 1);
          iy = Math.min(Math.max(iy, 0), H - 1);
        }
        const x0 = Math.floor(ix), y0 = Math.floor(iy), wx = ix - x0, wy = iy - y0;
        // [y, x, weight, ∂weight/∂ix, ∂weight/∂iy]
        const taps = [
          [y0, x0, (1 - wx) * (1 - wy), -(1 - wy), -(1 - wx)],
          [y0, x0 + 1, wx * (1 - wy), 1 - wy, -wx],
          [y0 + 1, x0, (1 - wx) * wy, -wy, 1 - wx],
          [y0 + 1, x0 + 1, wx * wy, wy, wx],
        ];
        let gix = 0, giy = 0;
        for (const [yy, xx, wt, dwx, dwy] of taps) {
          if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
          for (let ch = 0; ch < C; ch++) {
            const p = ((b * H + yy) * W + xx) * C + ch, o = ((r * h + i) * w + j) * C + ch;
            out[o] += wt * c.image[p];
            dImage[p] += wt * c.dy[o];
            gix += dwx * c.image[p] * c.dy[o];
            giy += dwy * c.image[p] * c.dy[o];
          }
        }
        const dgx = gix * mx, dgy = giy * my;
        const d = [dgx * x, dgx * y, dgx, dgy * x, dgy * y, dgy];
        for (let q = 0; q < 6; q++) dTheta[r * 6 + q] += d[q];
      }
    }
  }
  return { out, dImage, dTheta };
}

function randomCase(rand: () => number, shape: Case["shape"], k: number, attrs: SpatialTransformAttrs): Case {
  const [n, , , c] = shape;
  const m = k * n;
  const u = (count: number) => Float32Array.from({ length: count }, () => 2 * rand() - 1);
  // Scale 0.4..1.3, some rotation/shear, translation ±0.6: many samples fall outside the image.
  const theta = new Float32Array(m * 6);
  for (let r = 0; r < m; r++) {
    const s = () => 0.4 + 0.9 * rand(), d = () => 0.8 * (rand() - 0.5), t = () => 1.2 * (rand() - 0.5);
    theta.set([s(), d(), t(), d(), s(), t()], r * 6);
  }
  return {
    shape,
    image: u(shape.reduce((a, b) => a * b)),
    theta,
    dy: u(m * attrs.outHeight * attrs.outWidth * c),
    attrs,
  };
}

function assertClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  const { err, tol } = compare(actual, expected);
  assert.ok(err <= tol, `${what}: max-abs error ${err} > ${tol}`);
}

const OPTIONS: Array<Pick<SpatialTransformAttrs, "alignCorners" | "paddingMode">> = [
  { alignCorners: true, paddingMode: "border" },
  { alignCorners: true, paddingMode: "zeros" },
  { alignCorners: false, paddingMode: "border" },
  { alignCorners: false, paddingMode: "zeros" },
];

Deno.test("wasm spatial-transform kernels match PyTorch on the 16 golden cases", async () => {
  await selectBackend("wasm");
  assert.deepEqual(await goldenFailures(), []);
});

Deno.test("wasm kernels agree with a float64 reference and the cpu kernels on random shapes", async () => {
  const rand = prng(20261124);
  const cases: Case[] = [];
  // C = 1..6 and odd widths: column-SIMD with a partial last quad, channel-SIMD with a channel tail.
  const shapes: Array<[Case["shape"], number, number, number]> = [
    [[2, 7, 5, 1], 1, 5, 3],
    [[1, 9, 11, 2], 3, 6, 7],
    [[3, 6, 13, 3], 2, 4, 9],
    [[2, 8, 7, 4], 1, 5, 5],
    [[1, 5, 9, 5], 3, 7, 1],
    [[2, 11, 6, 6], 2, 1, 6],
    [[1, 1, 1, 1], 2, 3, 2],
  ];
  for (const [shape, k, outHeight, outWidth] of shapes) {
    for (const o of OPTIONS) cases.push(randomCase(rand, shape, k, { outHeight, outWidth, ...o }));
  }
  await selectBackend("wasm");
  const wasm: KernelResult[] = [];
  for (const c of cases) wasm.push(await runKernels(c));
  await selectBackend("cpu");
  for (const [i, c] of cases.entries()) {
    const what =
      `[${c.shape}] k=${c.theta.length / 6 / c.shape[0]} → ${c.attrs.outHeight}×${c.attrs.outWidth} ` +
      `align=${c.attrs.alignCorners} ${c.attrs.paddingMode}`;
    const ref = reference(c);
    assertClose(`${what} output vs f64`, wasm[i].output, ref.out);
    assertClose(`${what} ∂image vs f64`, wasm[i].dImage, ref.dImage);
    assertClose(`${what} ∂θ vs f64`, wasm[i].dTheta, ref.dTheta);
    const cpu = await runKernels(c);
    assertClose(`${what} output vs cpu`, wasm[i].output, cpu.output);
    assertClose(`${what} ∂image vs cpu`, wasm[i].dImage, cpu.dImage);
    assertClose(`${what} ∂θ vs cpu`, wasm[i].dTheta, cpu.dTheta);
  }
});

Deno.test("wasm: a NaN or ±Inf θ row gives zeros and no gradient for that row only", async () => {
  await selectBackend("wasm");
  const rand = prng(7);
  for (const o of OPTIONS) {
    for (const bad of [NaN, Infinity, -Infinity]) {
      // k = 2: rows 0,1 sample image 0 and rows 2,3 image 1; spoil row 1 (one entry) and row 2 (all).
      const c = randomCase(rand, [2, 10, 12, 5], 2, { outHeight: 6, outWidth: 7, ...o });
      c.theta[1 * 6 + 4] = bad;
      c.theta.fill(bad, 2 * 6, 3 * 6);
      const res = await runKernels(c);
      const per = 6 * 7 * 5;
      for (const r of [1, 2]) {
        assert.ok(res.output.subarray(r * per, (r + 1) * per).every((v) => v === 0), `row ${r} output is 0`);
        assert.ok(res.dTheta.subarray(r * 6, r * 6 + 6).every((v) => v === 0), `row ${r} ∂θ is 0`);
      }
      // The other rows, and ∂image (which the spoilt rows must not touch), match the clean rows alone.
      const clean = reference({ ...c, dy: c.dy.map((v, i) => [1, 2].includes(Math.floor(i / per)) ? 0 : v) });
      for (const r of [0, 3]) {
        assertClose(
          `${bad} row ${r} output`,
          res.output.subarray(r * per, (r + 1) * per),
          clean.out.subarray(r * per, (r + 1) * per),
        );
        assertClose(
          `${bad} row ${r} ∂θ`,
          res.dTheta.subarray(r * 6, r * 6 + 6),
          clean.dTheta.subarray(r * 6, r * 6 + 6),
        );
      }
      assertClose(`${bad} ∂image`, res.dImage, clean.dImage);
      assert.ok(res.dImage.every(Number.isFinite));
    }
  }
});

Deno.test("wasm: huge θ never reads or writes out of bounds and matches the reference", async () => {
  await selectBackend("wasm");
  const rand = prng(99);
  const huge = [1e30, -1e30, 3e38, -3.4e38, 1e9, -7e6];
  for (const o of OPTIONS) {
    const c = randomCase(rand, [1, 9, 8, 3], 12, { outHeight: 5, outWidth: 6, ...o });
    for (let r = 0; r < 12; r++) c.theta[r * 6 + (r % 6)] = huge[(r * 5) % huge.length];
    const res = await runKernels(c);
    const ref = reference(c);
    assert.ok(res.output.every(Number.isFinite) && res.dImage.every(Number.isFinite));
    assertClose("huge θ output", res.output, ref.out);
    assertClose("huge θ ∂image", res.dImage, ref.dImage);
    assertClose("huge θ ∂θ", res.dTheta, ref.dTheta);
  }
});

Deno.test("wasm: identity θ returns the image (alignCorners) and the backward pass is deterministic", async () => {
  await selectBackend("wasm");
  const rand = prng(3);
  for (const ch of [1, 4, 7]) {
    for (const paddingMode of ["border", "zeros"] as const) {
      const c = randomCase(rand, [2, 13, 17, ch], 3, {
        outHeight: 13,
        outWidth: 17,
        alignCorners: true,
        paddingMode,
      });
      for (let r = 0; r < 6; r++) c.theta.set([1, 0, 0, 0, 1, 0], r * 6);
      const first = await runKernels(c);
      const per = c.image.length / 2;
      for (let r = 0; r < 6; r++) {
        const img = Math.floor(r / 3);
        assertClose(
          `identity C=${ch} ${paddingMode} row ${r}`,
          first.output.subarray(r * per, (r + 1) * per),
          c.image.subarray(img * per, (img + 1) * per),
        );
      }
      // Another call in between leaves other data in the scratch arena; then the same inputs again
      // must give bit-identical gradients (a sequential scatter, nothing left over between calls).
      await runKernels(randomCase(rand, c.shape, 3, c.attrs));
      const twice = await runKernels(c);
      assert.deepEqual(twice.dImage, first.dImage);
      assert.deepEqual(twice.dTheta, first.dTheta);
    }
  }
});

Deno.test("wasm kernels reject shapes and dtypes they cannot run, naming the input", async () => {
  await selectBackend("wasm");
  const attrs = {
    outHeight: 3,
    outWidth: 3,
    alignCorners: true,
    paddingMode: "zeros",
  } as unknown as tf.NamedAttrMap;
  const image = tf.zeros([2, 4, 4, 1]);
  const theta = tf.zeros([3, 6]);
  const intImage = tf.zeros([2, 4, 4, 1], "int32");
  const goodTheta = tf.zeros([4, 6]);
  assert.throws(
    () => tf.engine().runKernel(SPATIAL_TRANSFORM, { image, theta }, attrs),
    /theta must be \[k·N, 6\] or \[k·N, 9\] with N = 2; got \[3,6\]/,
  );
  assert.throws(
    () => tf.engine().runKernel(SPATIAL_TRANSFORM, { image: intImage, theta: goodTheta }, attrs),
    /image must be float32; got int32/,
  );
  const dy = tf.zeros([4, 3, 2, 1]);
  assert.throws(
    () => tf.engine().runKernel(SPATIAL_TRANSFORM_GRAD, { dy, image, theta: goodTheta }, attrs),
    /dy must be float32 \[4,3,3,1\]; got float32 \[4,3,2,1\]/,
  );
  tf.dispose([image, theta, intImage, goodTheta, dy]);
});

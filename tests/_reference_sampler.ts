/**
 * An independent float64 reference of the spatial transform, written from the formula in
 * `src/kernels/spatial_transform_spec.ts` (PyTorch's affine_grid + grid_sample, bilinear), for the
 * finite-difference and parity tests. Deliberately simple (per pixel, per tap) rather than fast.
 */
export interface RefOptions {
  outHeight: number;
  outWidth: number;
  alignCorners: boolean;
  paddingMode: "border" | "zeros";
}

/** Forward pass in float64: image [N,H,W,C], theta [M,6] (flat) → output [M,h,w,C] (flat). */
export function referenceForward(
  image: ArrayLike<number>,
  shape: readonly number[],
  theta: ArrayLike<number>,
  o: RefOptions,
): Float64Array {
  const [n, H, W, C] = shape;
  const m = theta.length / 6, k = m / n, h = o.outHeight, w = o.outWidth;
  const out = new Float64Array(m * h * w * C);
  const norm = (i: number, size: number) =>
    o.alignCorners ? (size > 1 ? -1 + (2 * i) / (size - 1) : 0) : (2 * i + 1) / size - 1;
  const pix = (g: number, size: number) =>
    o.alignCorners ? ((g + 1) / 2) * (size - 1) : ((g + 1) * size - 1) / 2;
  for (let r = 0; r < m; r++) {
    const t = Array.from({ length: 6 }, (_, q) => theta[r * 6 + q]);
    const b = Math.floor(r / k);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const x = norm(j, w), y = norm(i, h);
        const gx = t[0] * x + t[1] * y + t[2], gy = t[3] * x + t[4] * y + t[5];
        if (!Number.isFinite(gx) || !Number.isFinite(gy)) continue;
        let ix = pix(gx, W), iy = pix(gy, H);
        if (o.paddingMode === "border") {
          ix = Math.min(Math.max(ix, 0), W - 1);
          iy = Math.min(Math.max(iy, 0), H - 1);
        }
        const x0 = Math.floor(ix), y0 = Math.floor(iy);
        const taps: [number, number, number][] = [
          [y0, x0, (x0 + 1 - ix) * (y0 + 1 - iy)],
          [y0, x0 + 1, (ix - x0) * (y0 + 1 - iy)],
          [y0 + 1, x0, (x0 + 1 - ix) * (iy - y0)],
          [y0 + 1, x0 + 1, (ix - x0) * (iy - y0)],
        ];
        for (const [yy, xx, wt] of taps) {
          if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
          for (let c = 0; c < C; c++) {
            out[((r * h + i) * w + j) * C + c] += wt * image[((b * H + yy) * W + xx) * C + c];
          }
        }
      }
    }
  }
  return out;
}

/** The tests' seeded PRNG, re-exported so the sampler tests take all their helpers from here. */
export { prng } from "./_random.ts";

/** `count` uniform values in [lo, hi), rounded to float32 so tensors hold exactly these numbers. */
export function uniform(rand: () => number, count: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: count }, () => lo + (hi - lo) * rand());
}

/**
 * A random affine θ row near a plausible attention box: scale in [0.4, 1.2], a little rotation /
 * shear, translation in [-0.5, 0.5] (so some samples fall outside the image and exercise padding).
 */
export function randomTheta(rand: () => number, rows: number): Float32Array {
  const out = new Float32Array(rows * 6);
  for (let r = 0; r < rows; r++) {
    const s = () => 0.4 + 0.8 * rand(), d = () => 0.6 * (rand() - 0.5), t = () => rand() - 0.5;
    out.set([s(), d(), t(), d(), s(), t()], r * 6);
  }
  return out;
}

/** Max-abs error and the tolerance 1e-4 · max(1, max|ref|) used across the sampler tests. */
export function maxAbsError(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
): { err: number; tol: number } {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  let err = 0, ref = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    ref = Math.max(ref, Math.abs(expected[i]));
  }
  return { err, tol: 1e-4 * Math.max(1, ref) };
}

/**
 * Pushes onto `failures` a line for each of ∂image and ∂θ whose max-abs error against the
 * finite-difference `numeric` passes {@linkcode maxAbsError}'s tolerance; `tag` names the case.
 */
export async function checkGradients(
  tag: string,
  dImage: { data(): Promise<ArrayLike<number>> },
  dTheta: { data(): Promise<ArrayLike<number>> },
  numeric: { dImage: ArrayLike<number>; dTheta: ArrayLike<number> },
  failures: string[],
): Promise<void> {
  for (
    const [what, actual, expected] of [
      ["∂image", await dImage.data(), numeric.dImage],
      ["∂θ", await dTheta.data(), numeric.dTheta],
    ] as const
  ) {
    const { err, tol } = maxAbsError(actual, expected);
    if (!(err <= tol)) failures.push(`${tag} ${what}: max-abs error ${err} > ${tol}`);
  }
}

/**
 * An independent float64 reference of every sampler mode, padding and affine/projective θ, for the
 * finite-difference and parity tests. Written from the definitions rather than from the kernels'
 * arrangement: interpolation as a sum of kernel functions of the distance to each tap (tent,
 * Keys' cubic), reflection as folding into one period, round-half-even through 2·round(p/2).
 */
import type { PaddingMode, SampleMode } from "../mod.ts";

/** Options of {@linkcode referenceSample}. */
export interface ModeRefOptions {
  outHeight: number;
  outWidth: number;
  alignCorners: boolean;
  paddingMode: PaddingMode;
  mode: SampleMode;
}

const A = -0.75;

/** Keys' cubic convolution kernel at distance s. */
function keys(s: number): number {
  const d = Math.abs(s);
  if (d <= 1) return (A + 2) * d ** 3 - (A + 3) * d ** 2 + 1;
  if (d < 2) return A * d ** 3 - 5 * A * d ** 2 + 8 * A * d - 4 * A;
  return 0;
}

/** Folds a pixel coordinate into the image as border or reflection padding do (zeros: unchanged). */
function fold(p: number, size: number, o: ModeRefOptions): number {
  if (o.paddingMode === "zeros") return p;
  if (o.paddingMode === "reflection") {
    const lo = o.alignCorners ? 0 : -0.5, hi = o.alignCorners ? size - 1 : size - 0.5;
    const span = hi - lo;
    if (span === 0) return 0;
    let q = (p - lo) % (2 * span);
    if (q < 0) q += 2 * span;
    p = lo + (q > span ? 2 * span - q : q);
  }
  return Math.min(Math.max(p, 0), size - 1);
}

function roundHalfEven(p: number): number {
  return Math.abs(p - Math.trunc(p)) === 0.5 ? 2 * Math.round(p / 2) : Math.round(p);
}

/**
 * Forward pass in float64: image `[N,H,W,C]`, θ `[M, params]` flat (params 6 or 9) → output
 * `[M,h,w,C]` flat.
 */
export function referenceSample(
  image: ArrayLike<number>,
  shape: readonly number[],
  theta: ArrayLike<number>,
  params: 6 | 9,
  o: ModeRefOptions,
): Float64Array {
  const [n, H, W, C] = shape;
  const m = theta.length / params, k = m / n, h = o.outHeight, w = o.outWidth;
  const out = new Float64Array(m * h * w * C);
  const norm = (i: number, size: number) =>
    o.alignCorners ? (size > 1 ? -1 + (2 * i) / (size - 1) : 0) : (2 * i + 1) / size - 1;
  const pix = (g: number, size: number) =>
    o.alignCorners ? ((g + 1) / 2) * (size - 1) : ((g + 1) * size - 1) / 2;
  for (let r = 0; r < m; r++) {
    const t = Array.from({ length: params }, (_, q) => theta[r * params + q]);
    const b = Math.floor(r / k);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const x = norm(j, w), y = norm(i, h);
        const d = params === 9 ? t[6] * x + t[7] * y + t[8] : 1;
        const px = pix((t[0] * x + t[1] * y + t[2]) / d, W), py = pix((t[3] * x + t[4] * y + t[5]) / d, H);
        if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
        // Taps as [x, y, weight]: each read at its (folded) pixel, 0 outside.
        const taps: [number, number, number][] = [];
        if (o.mode === "bicubic") {
          const x0 = Math.floor(px), y0 = Math.floor(py);
          for (let a = -1; a <= 2; a++) {
            for (let c = -1; c <= 2; c++) {
              taps.push([fold(x0 + a, W, o), fold(y0 + c, H, o), keys(px - x0 - a) * keys(py - y0 - c)]);
            }
          }
        } else {
          const fx = fold(px, W, o), fy = fold(py, H, o);
          if (o.mode === "nearest") {
            taps.push([roundHalfEven(fx), roundHalfEven(fy), 1]);
          } else {
            for (const tx of [Math.floor(fx), Math.floor(fx) + 1]) {
              for (const ty of [Math.floor(fy), Math.floor(fy) + 1]) {
                taps.push([tx, ty, Math.max(0, 1 - Math.abs(fx - tx)) * Math.max(0, 1 - Math.abs(fy - ty))]);
              }
            }
          }
        }
        for (const [tx, ty, wt] of taps) {
          if (tx < 0 || tx >= W || ty < 0 || ty >= H) continue;
          for (let c = 0; c < C; c++) {
            out[((r * h + i) * w + j) * C + c] += wt * image[((b * H + ty) * W + tx) * C + c];
          }
        }
      }
    }
  }
  return out;
}

/** A random projective θ row set near the identity, with a denominator that stays in [0.5, 1.5]. */
export function randomHomography(rand: () => number, rows: number): Float32Array {
  const out = new Float32Array(rows * 9);
  for (let r = 0; r < rows; r++) {
    const s = () => 0.6 + 0.7 * rand(), d = () => 0.6 * (rand() - 0.5), t = () => rand() - 0.5;
    const p = () => 0.4 * (rand() - 0.5);
    out.set([s(), d(), t(), d(), s(), t(), p(), p(), 0.9 + 0.2 * rand()], r * 9);
  }
  return out;
}

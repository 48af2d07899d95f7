/**
 * Bicubic sampling on cpu: PyTorch's grid_sampler_2d bicubic branch. The 4×4 taps around the
 * unpadded coordinate get Keys' cubic convolution weights (A = -0.75); each tap index is padded on
 * its own (`padIndex`), so padding adds no derivative of its own.
 *
 * @module
 */
import { padIndex, type Sampler } from "./sample_footprint.ts";

/** Keys' cubic convolution parameter, as PyTorch's upsample_bicubic and grid_sample use it. */
export const CUBIC_A = -0.75;

/** The four weights of taps at offsets -1, 0, 1, 2 for fraction t (PyTorch's get_cubic_upsample_coefficients). */
export function cubicWeights(t: number, out: Float64Array): void {
  const a = CUBIC_A;
  const near = (x: number) => ((a + 2) * x - (a + 3)) * x * x + 1;
  const far = (x: number) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  out[0] = far(t + 1);
  out[1] = near(t);
  out[2] = near(1 - t);
  out[3] = far(2 - t);
}

/** d(weight)/dt of {@linkcode cubicWeights}. */
export function cubicWeightSlopes(t: number, out: Float64Array): void {
  const a = CUBIC_A;
  const near = (x: number) => (3 * (a + 2) * x - 2 * (a + 3)) * x;
  const far = (x: number) => (3 * a * x - 10 * a) * x + 8 * a;
  out[0] = far(t + 1);
  out[1] = near(t);
  out[2] = -near(1 - t);
  out[3] = -far(2 - t);
}

const cx = new Float64Array(4), cy = new Float64Array(4), sx = new Float64Array(4), sy = new Float64Array(4);
const xs = new Int32Array(4), ys = new Int32Array(4);

/** The bicubic {@linkcode Sampler}. */
export const bicubicSampler: Sampler = {
  taps: 16,
  fill(ix, iy, width, height, pad, f) {
    const x0 = Math.floor(ix), y0 = Math.floor(iy);
    cubicWeights(ix - x0, cx);
    cubicWeights(iy - y0, cy);
    cubicWeightSlopes(ix - x0, sx);
    cubicWeightSlopes(iy - y0, sy);
    for (let q = 0; q < 4; q++) {
      xs[q] = padIndex(x0 - 1 + q, width, pad);
      ys[q] = padIndex(y0 - 1 + q, height, pad);
    }
    f.count = 16;
    for (let b = 0; b < 4; b++) {
      for (let a = 0; a < 4; a++) {
        const t = b * 4 + a;
        f.index[t] = xs[a] < 0 || ys[b] < 0 ? -1 : ys[b] * width + xs[a];
        f.weight[t] = cx[a] * cy[b];
        f.dx[t] = sx[a] * cy[b];
        f.dy[t] = cx[a] * sy[b];
      }
    }
  },
};

/**
 * Bilinear sampling on cpu for the general sampler (`sample_general.ts`: reflection padding,
 * projective θ): four taps of the padded coordinate, PyTorch's grid_sampler_2d bilinear branch.
 * Bilinear affine sampling with zeros or border padding has its own faster kernels
 * (`spatial_transform.ts`, `spatial_transform_grad.ts`).
 *
 * @module
 */
import { padCoordinate, type Sampler } from "./sample_footprint.ts";

/** The bilinear {@linkcode Sampler}. */
export const bilinearSampler: Sampler = {
  taps: 4,
  fill(ix, iy, width, height, pad, f) {
    const px = padCoordinate(ix, width, pad), gx = pad.grad;
    const py = padCoordinate(iy, height, pad), gy = pad.grad;
    const x0 = Math.floor(px), y0 = Math.floor(py);
    const wx = px - x0, wy = py - y0;
    f.count = 4;
    for (let t = 0; t < 4; t++) {
      const ox = t & 1, oy = t >> 1;
      const x = x0 + ox, y = y0 + oy;
      const inside = x >= 0 && x < width && y >= 0 && y < height;
      const ax = ox ? wx : 1 - wx, ay = oy ? wy : 1 - wy;
      f.index[t] = inside ? y * width + x : -1;
      f.weight[t] = ax * ay;
      f.dx[t] = (ox ? 1 : -1) * ay * gx;
      f.dy[t] = (oy ? 1 : -1) * ax * gy;
    }
  },
};

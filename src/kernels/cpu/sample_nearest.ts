/**
 * Nearest-neighbour sampling on cpu: one tap at the padded coordinate rounded half to even
 * (PyTorch's nearbyint). Its weight is constant, so no gradient flows to the coordinates (or θ);
 * the image gradient is a scatter onto that one pixel.
 *
 * @module
 */
import { padCoordinate, roundHalfEven, type Sampler } from "./sample_footprint.ts";

/** The nearest {@linkcode Sampler}. */
export const nearestSampler: Sampler = {
  taps: 1,
  fill(ix, iy, width, height, pad, f) {
    const x = roundHalfEven(padCoordinate(ix, width, pad));
    const y = roundHalfEven(padCoordinate(iy, height, pad));
    f.count = 1;
    f.index[0] = x >= 0 && x < width && y >= 0 && y < height ? y * width + x : -1;
    f.weight[0] = 1;
    f.dx[0] = 0;
    f.dy[0] = 0;
  },
};

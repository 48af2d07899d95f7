/**
 * What every cpu sampler mode (`sample_bilinear.ts`, `sample_nearest.ts`, `sample_bicubic.ts`)
 * computes for one sampling point, and PyTorch's padding arithmetic they share
 * (`GridSampler.h`: `clip_coordinates_set_grad`, `reflect_coordinates_set_grad`,
 * `compute_coordinates`), in float64.
 *
 * @module
 */
import type { PaddingMode } from "../spatial_transform_spec.ts";

/**
 * The taps of one sampling point at unpadded pixel coordinates (ix, iy): tap `t` reads pixel
 * `index[t]` (`y·W + x`, or -1 for a tap outside the image, which reads 0 and takes no gradient)
 * with weight `weight[t]`; `dx[t]`, `dy[t]` are that weight's derivatives with respect to ix and iy
 * (padding's own derivative included).
 */
export interface Footprint {
  count: number;
  index: Int32Array;
  weight: Float64Array;
  dx: Float64Array;
  dy: Float64Array;
}

/** A footprint with room for `taps` taps. */
export function footprint(taps: number): Footprint {
  return {
    count: 0,
    index: new Int32Array(taps),
    weight: new Float64Array(taps),
    dx: new Float64Array(taps),
    dy: new Float64Array(taps),
  };
}

/** One mode: fills `f` for the point (ix, iy) of a `width × height` image. */
export interface Sampler {
  /** Most taps a point has. */
  taps: number;
  fill(ix: number, iy: number, width: number, height: number, pad: Padding, f: Footprint): void;
}

/** The padding of one call, and a scratch slot for {@linkcode padCoordinate}'s derivative. */
export interface Padding {
  mode: PaddingMode;
  alignCorners: boolean;
  /** d(padded)/d(unpadded) of the last {@linkcode padCoordinate} call. */
  grad: number;
}

/** PyTorch's reflect_coordinates(_set_grad) about twiceLow/2 and twiceHigh/2; derivative in `pad.grad`. */
function reflect(p: number, twiceLow: number, twiceHigh: number, pad: Padding): number {
  if (twiceLow === twiceHigh) {
    pad.grad = 0;
    return 0;
  }
  const min = twiceLow / 2, span = (twiceHigh - twiceLow) / 2;
  let v = p - min, sign = 1;
  if (v < 0) {
    sign = -1;
    v = -v;
  }
  const extra = v % span, flips = Math.floor(v / span);
  if (flips % 2 === 0) {
    pad.grad = sign;
    return extra + min;
  }
  pad.grad = -sign;
  return span - extra + min;
}

/**
 * A pixel coordinate padded as PyTorch's compute_source_index does (border: clamp; reflection:
 * reflect, then clamp; zeros: unchanged); its derivative is left in `pad.grad` (0 where clamped,
 * including exactly on the edge, as PyTorch's clip_coordinates_set_grad).
 */
export function padCoordinate(p: number, size: number, pad: Padding): number {
  pad.grad = 1;
  if (pad.mode === "zeros") return p;
  if (pad.mode === "reflection") {
    p = pad.alignCorners ? reflect(p, 0, 2 * (size - 1), pad) : reflect(p, -1, 2 * size - 1, pad);
  }
  if (p <= 0) {
    pad.grad = 0;
    return 0;
  }
  if (p >= size - 1) {
    pad.grad = 0;
    return size - 1;
  }
  return p;
}

/** A whole-pixel tap index padded as PyTorch's compute_coordinates (bicubic); -1 when outside. */
export function padIndex(t: number, size: number, pad: Padding): number {
  const p = pad.mode === "zeros" ? t : padCoordinate(t, size, pad);
  const i = Math.trunc(p);
  return i >= 0 && i < size ? i : -1;
}

/** Rounds half to even, as C's nearbyint in the default rounding mode (PyTorch's nearest). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v), d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

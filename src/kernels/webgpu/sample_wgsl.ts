/**
 * WGSL shared by the general webgpu sampler's programs (`sample_general.ts`): the geometry of
 * `spatial_transform_spec.ts` (affine or projective θ, corner alignment, PyTorch's padding
 * arithmetic) and the interface every mode file (`sample_{bilinear,nearest,bicubic}.ts`) implements:
 *
 * - `const TAPS : i32`, the most taps a sampling point has;
 * - `const REACH : f32`: with zeros or border padding, a point's taps can reach pixel X only if its
 *   unpadded coordinate ix lies within REACH of X (at the edges, beyond it as well, for border);
 * - `struct Point` and `fn point(ix, iy, W, H) -> Point`, from unpadded pixel coordinates;
 * - `fn tap(p, t, W, H) -> Tap`: tap t's pixel (`y·W + x`, -1 outside: reads 0, takes no
 *   gradient), weight, and the weight's derivatives with respect to ix and iy;
 * - `fn weightAt(p, X, Y) -> f32`: the total weight the point gives image pixel (X, Y).
 *
 * Safety for any θ: non-finiteness is tested on the bit pattern (WGSL compilers may assume no
 * NaN/Inf in float comparisons), normalised coordinates are clamped to ±1e6 and every tap is checked
 * against the image as a float before it becomes an index.
 *
 * @module
 */
import type { PaddingMode, SampleMode } from "../spatial_transform_spec.ts";
import { BICUBIC_WGSL } from "./sample_bicubic.ts";
import { BILINEAR_WGSL } from "./sample_bilinear.ts";
import { NEAREST_WGSL } from "./sample_nearest.ts";
import { coordinateWgsl } from "./spatial_transform_wgsl.ts";

const MODES: Record<SampleMode, string> = {
  bilinear: BILINEAR_WGSL,
  nearest: NEAREST_WGSL,
  bicubic: BICUBIC_WGSL,
};

/** PyTorch's GridSamplerPadding order. */
const PADDINGS: readonly PaddingMode[] = ["zeros", "border", "reflection"];

/** One compiled variant: everything baked into the shader text (and so into its key). */
export interface SampleVariant {
  mode: SampleMode;
  paddingMode: PaddingMode;
  alignCorners: boolean;
  /** θ values per row: 6 (affine) or 9 (projective). */
  params: number;
}

/** Shader-key suffix of a variant. */
export function sampleKey(v: SampleVariant): string {
  return `${v.mode}_${v.paddingMode}_${v.alignCorners ? "ac" : "nac"}_${v.params}`;
}

/** The prelude and the variant's mode, as WGSL. */
export function sampleWgsl(v: SampleVariant): string {
  const padding = PADDINGS.indexOf(v.paddingMode);
  const mode = MODES[v.mode];
  if (padding < 0 || mode === undefined || (v.params !== 6 && v.params !== 9)) {
    throw new Error(`spatialTransform (webgpu): no sampler for ${JSON.stringify(v)}`);
  }
  return `
${coordinateWgsl(v.alignCorners)}
  const PADDING : i32 = ${padding}; // 0 zeros, 1 border, 2 reflection
  const PARAMS : i32 = ${v.params};
  const COORD_LIMIT : f32 = 1.0e6;

  struct Tap { index : i32, w : f32, dx : f32, dy : f32 };

  // Pixel (x, y), whole numbers, as y·W + x; -1 outside the image.
  fn pixelIndex(x : f32, y : f32, W : i32, H : i32) -> i32 {
    if (x >= 0.0 && x < f32(W) && y >= 0.0 && y < f32(H)) { return i32(y) * W + i32(x); }
    return -1;
  }

  // PyTorch's reflect_coordinates_set_grad: (coordinate, derivative).
  fn reflectCoord(p : f32, twiceLow : f32, twiceHigh : f32) -> vec2<f32> {
    if (twiceLow == twiceHigh) { return vec2<f32>(0.0, 0.0); }
    let low = twiceLow * 0.5;
    let span = (twiceHigh - twiceLow) * 0.5;
    var v = p - low;
    var sign = 1.0;
    if (v < 0.0) { v = -v; sign = -1.0; }
    let flips = floor(v / span);
    let extra = v - flips * span;
    if (flips - 2.0 * floor(flips * 0.5) == 0.0) { return vec2<f32>(extra + low, sign); }
    return vec2<f32>(span - extra + low, -sign);
  }

  // PyTorch's compute_source_index_set_grad on a pixel coordinate: (coordinate, derivative).
  fn padCoord(p : f32, size : i32) -> vec2<f32> {
    // Zeros: beyond [-2, size + 1] every tap is outside either way; the clamp keeps indices small.
    if (PADDING == 0) { return vec2<f32>(clamp(p, -2.0, f32(size) + 1.0), 1.0); }
    var c = vec2<f32>(p, 1.0);
    if (PADDING == 2) {
      if (ALIGN_CORNERS) {
        c = reflectCoord(p, 0.0, 2.0 * f32(size - 1));
      } else {
        c = reflectCoord(p, -1.0, 2.0 * f32(size) - 1.0);
      }
    }
    let hi = f32(size - 1);
    if (c.x <= 0.0) { return vec2<f32>(0.0, 0.0); }
    if (c.x >= hi) { return vec2<f32>(hi, 0.0); }
    return c;
  }

  // PyTorch's compute_coordinates on a whole-pixel tap (bicubic): its index, -1 outside.
  fn padIndex(t : f32, size : i32) -> i32 {
    var p = t;
    if (PADDING != 0) { p = padCoord(t, size).x; }
    if (p >= 0.0 && p < f32(size)) { return i32(p); }
    return -1;
  }

  // The sampling point of normalised output (x, y) under θ row m: unpadded pixel coordinates,
  // normalised sampling coordinates and the projective denominator (1 when affine).
  struct SamplePoint { valid : bool, ix : f32, iy : f32, gx : f32, gy : f32, den : f32 };

  fn samplePoint(m : i32, x : f32, y : f32, W : i32, H : i32) -> SamplePoint {
    var s : SamplePoint;
    let b = m * PARAMS;
    var den = 1.0;
    if (PARAMS == 9) { den = Theta[b + 6] * x + Theta[b + 7] * y + Theta[b + 8]; }
    let nx = Theta[b] * x + Theta[b + 1] * y + Theta[b + 2];
    let ny = Theta[b + 3] * x + Theta[b + 4] * y + Theta[b + 5];
    s.valid = finite(den) && finite(nx) && finite(ny) && den != 0.0;
    if (!s.valid) { return s; }
    s.gx = nx / den;
    s.gy = ny / den;
    s.valid = finite(s.gx) && finite(s.gy);
    if (!s.valid) { return s; }
    s.den = den;
    s.ix = clamp(s.gx, -COORD_LIMIT, COORD_LIMIT) * unnormScale(W) + unnormOffset(W);
    s.iy = clamp(s.gy, -COORD_LIMIT, COORD_LIMIT) * unnormScale(H) + unnormOffset(H);
    return s;
  }
${mode}`;
}

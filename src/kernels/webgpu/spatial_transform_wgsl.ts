/**
 * WGSL shared by the webgpu spatial-transform kernels: the sampling geometry of
 * `spatial_transform_spec.ts` written once, so the forward, ∂θ and ∂image shaders compute the very
 * same coordinates, weights and taps.
 *
 * The two attributes that change control flow (`alignCorners`, `paddingMode`) are baked into the
 * shader text as constants (and into the shader key), so each of the four variants compiles to
 * straight-line code; the sizes come from tfjs's per-dispatch shape uniforms, so one pipeline
 * serves every shape.
 *
 * Safety for any θ: non-finiteness is tested on the bit pattern (WGSL lets compilers assume no
 * NaN/Inf in float comparisons), normalised coordinates are clamped to ±1e6 (far outside any image,
 * where nothing is read and no gradient flows, so this changes no result) and pixel coordinates
 * are clamped to a band just around the image before they become integers, so every index stays
 * in its buffer.
 *
 * @module
 */
import type { WebGPUProgram } from "@tensorflow/tfjs-backend-webgpu";
import type { tf } from "../../tf.ts";
import {
  PADDING_MODES,
  type PaddingMode,
  SAMPLE_MODES,
  type SpatialTransformAttrs,
} from "../spatial_transform_spec.ts";

/** The slice of tfjs-backend-webgpu's `WebGPUBackend` the kernels use. */
export interface WebGpuBackendLike {
  runWebGPUProgram(
    program: WebGPUProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
  ): tf.TensorInfo;
}

export type { WebGPUProgram };

/** The attributes as the kernels receive them, checked once (the op validated them for users). */
export function readAttrs(attrs: unknown, kernel: string): SpatialTransformAttrs {
  const a = attrs as SpatialTransformAttrs;
  if (!(Number.isInteger(a.outHeight) && a.outHeight > 0 && Number.isInteger(a.outWidth) && a.outWidth > 0)) {
    throw new Error(
      `${kernel} (webgpu): outHeight/outWidth must be positive integers; got ${a.outHeight}×${a.outWidth}`,
    );
  }
  if (!PADDING_MODES.includes(a.paddingMode)) {
    throw new Error(`${kernel} (webgpu): unknown paddingMode ${JSON.stringify(a.paddingMode)}`);
  }
  if (a.mode !== undefined && !SAMPLE_MODES.includes(a.mode)) {
    throw new Error(`${kernel} (webgpu): unknown mode ${JSON.stringify(a.mode)}`);
  }
  return a;
}

/** Rejects inputs that are not float32 (a kernel reads raw f32 storage). */
export function assertFloat32(kernel: string, inputs: Record<string, tf.TensorInfo>): void {
  for (const [name, info] of Object.entries(inputs)) {
    if (info.dtype !== "float32") {
      throw new Error(`${kernel} (webgpu): ${name} must be float32; got ${info.dtype}`);
    }
  }
}

/** Shader-key suffix of a variant: the baked constants must be part of the pipeline cache key. */
export function variantKey(alignCorners: boolean, paddingMode: PaddingMode): string {
  return `${alignCorners ? "ac" : "nac"}_${paddingMode}`;
}

/** Dispatch of `count` invocations in workgroups of `size` (tfjs reshapes it past the 65535 limit). */
export function flatDispatch(count: number, size: number): [number, number, number] {
  return [Math.max(1, Math.ceil(count / size)), 1, 1];
}

/**
 * The coordinate conventions every spatial-transform shader shares (the bilinear programs here and
 * the general sampler's, `sample_wgsl.ts`): `ALIGN_CORNERS`, `finite` (on the bit pattern: WGSL
 * compilers may assume no NaN/Inf in float comparisons), `baseCoord` (PyTorch's affine_grid base
 * grid), `axisMap` (the same as `s·j + o`) and `unnormScale` / `unnormOffset` (normalised → pixel).
 */
export function coordinateWgsl(alignCorners: boolean): string {
  return `
  const ALIGN_CORNERS : bool = ${alignCorners};

  fn finite(v : f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
  }

  // Normalised coordinate of output pixel idx of n (PyTorch's affine_grid base grid).
  fn baseCoord(idx : i32, n : i32) -> f32 {
    if (ALIGN_CORNERS) {
      if (n > 1) { return -1.0 + 2.0 * f32(idx) / f32(n - 1); }
      return 0.0;
    }
    return (2.0 * f32(idx) + 1.0) / f32(n) - 1.0;
  }

  // Pixel = scale * normalised + offset.
  fn unnormScale(size : i32) -> f32 {
    if (ALIGN_CORNERS) { return f32(size - 1) * 0.5; }
    return f32(size) * 0.5;
  }
  fn unnormOffset(size : i32) -> f32 {
    return f32(size - 1) * 0.5;
  }

  // x_j = s·j + o along an output axis of n pixels, as baseCoord computes it.
  fn axisMap(n : i32) -> vec2<f32> {
    if (ALIGN_CORNERS) {
      if (n > 1) { return vec2<f32>(2.0 / f32(n - 1), -1.0); }
      return vec2<f32>(0.0, 0.0);
    }
    return vec2<f32>(2.0 / f32(n), 1.0 / f32(n) - 1.0);
  }
`;
}

/**
 * The geometry, in WGSL. `sampleAt(tx, ty, x, y, W, H)` takes one θ row split as `tx = (θ0,θ1,θ2)`,
 * `ty = (θ3,θ4,θ5)` and normalised output coordinates, and returns the bilinear footprint:
 * `x0, y0` (top-left tap), `wx, wy` (weights of the `+1` taps) and `dxg, dyg` (d pixel / d
 * normalised coordinate, 0 where the border clamp is active). `valid` is false where gx or gy is
 * NaN or infinite: that pixel samples 0 and passes no gradient. `tapsAt(f, n, W, H, C)` turns a
 * footprint into the four taps' buffer offsets in image `n` and their in-image flags.
 */
export function samplerWgsl(alignCorners: boolean, paddingMode: PaddingMode): string {
  return `
  const BORDER : bool = ${paddingMode === "border"};
  const COORD_LIMIT : f32 = 1.0e6;

${coordinateWgsl(alignCorners)}
  struct Footprint {
    valid : bool,
    x0 : i32,
    y0 : i32,
    wx : f32,
    wy : f32,
    dxg : f32,
    dyg : f32,
  };

  // Pixel coordinate along an axis of size pixels; .x the coordinate, .y d(coordinate)/d(g).
  fn toPixel(g : f32, size : i32) -> vec2<f32> {
    let scale = unnormScale(size);
    let p = clamp(g, -COORD_LIMIT, COORD_LIMIT) * scale + unnormOffset(size);
    let hi = f32(size - 1);
    if (BORDER) {
      // PyTorch's clip_coordinates_set_grad: no gradient at or beyond the edges.
      let inside = p > 0.0 && p < hi;
      return vec2<f32>(clamp(p, 0.0, hi), select(0.0, scale, inside));
    }
    // Every tap of a coordinate below -1 or above size is outside the image, as it is at -2 and
    // size + 1: clamping there changes nothing but keeps the integer conversion in range.
    return vec2<f32>(clamp(p, -2.0, hi + 2.0), scale);
  }

  fn sampleAt(tx : vec3<f32>, ty : vec3<f32>, x : f32, y : f32, W : i32, H : i32) -> Footprint {
    var f : Footprint;
    let gx = tx.x * x + tx.y * y + tx.z;
    let gy = ty.x * x + ty.y * y + ty.z;
    f.valid = finite(gx) && finite(gy);
    if (!f.valid) { return f; }
    let px = toPixel(gx, W);
    let py = toPixel(gy, H);
    let fx = floor(px.x);
    let fy = floor(py.x);
    f.x0 = i32(fx);
    f.y0 = i32(fy);
    f.wx = px.x - fx;
    f.wy = py.x - fy;
    f.dxg = px.y;
    f.dyg = py.y;
    return f;
  }

  // The four taps of a footprint in image n: element offsets (channel 0) of the tap pixels,
  // clamped so they always lie in the buffer, and whether each tap lies inside the image (a tap
  // outside reads as 0 and takes no gradient).
  struct Taps {
    i00 : i32,
    i01 : i32,
    i10 : i32,
    i11 : i32,
    in00 : bool,
    in01 : bool,
    in10 : bool,
    in11 : bool,
  };

  fn tapsAt(f : Footprint, n : i32, W : i32, H : i32, C : i32) -> Taps {
    var t : Taps;
    let x1 = f.x0 + 1;
    let y1 = f.y0 + 1;
    let inX0 = f.x0 >= 0 && f.x0 < W;
    let inX1 = x1 >= 0 && x1 < W;
    let inY0 = f.y0 >= 0 && f.y0 < H;
    let inY1 = y1 >= 0 && y1 < H;
    let cx0 = clamp(f.x0, 0, W - 1);
    let cx1 = clamp(x1, 0, W - 1);
    let r0 = (n * H + clamp(f.y0, 0, H - 1)) * W;
    let r1 = (n * H + clamp(y1, 0, H - 1)) * W;
    t.i00 = (r0 + cx0) * C;
    t.i01 = (r0 + cx1) * C;
    t.i10 = (r1 + cx0) * C;
    t.i11 = (r1 + cx1) * C;
    t.in00 = inX0 && inY0;
    t.in01 = inX1 && inY0;
    t.in10 = inX0 && inY1;
    t.in11 = inX1 && inY1;
    return t;
  }

  fn thetaX(m : i32) -> vec3<f32> {
    return vec3<f32>(Theta[m * 6], Theta[m * 6 + 1], Theta[m * 6 + 2]);
  }
  fn thetaY(m : i32) -> vec3<f32> {
    return vec3<f32>(Theta[m * 6 + 3], Theta[m * 6 + 4], Theta[m * 6 + 5]);
  }
`;
}

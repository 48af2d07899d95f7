/**
 * ∂image of the spatial transform on WebGPU as a **gather**, so it is deterministic without atomics.
 *
 * The forward pass scatters nothing, but its adjoint does: output pixel `(m, i, j)` adds
 * `weight · dy` to up to four input pixels. Instead of scattering (float atomics do not exist in
 * WGSL, and fixed-point atomics lose range and precision), each invocation owns one input element
 * `(n, Y, X, c)` and sums, in a fixed order (row m, then i, then j), the output pixels whose
 * bilinear taps land on it. The result is bitwise reproducible and as accurate as a plain f32 sum.
 *
 * Finding those output pixels cheaply: for a fixed θ row and output row i, the pixel coordinate is
 * affine in j, `ix = A·j + D`, so the j with `ix ∈ [X-1, X+1]` (widened to ±∞ at the edges in
 * border mode, where the clamp maps everything beyond onto the edge pixel) form one interval, found
 * by inverting the map; intersecting it with the interval from `iy` gives the candidates. The
 * interval is widened by a rounding margin and every candidate is re-checked with the exact
 * forward footprint, so the bound only has to be a superset: a row whose map is degenerate
 * (|A| ≈ 0) or too large to invert safely falls back to the whole row, and a θ row containing
 * NaN/Inf (which makes every gx or gy non-finite) contributes nothing. Cost per element: O(k·h)
 * interval computations plus the candidates, instead of O(k·h·w).
 *
 * @module
 */
import type { PaddingMode } from "../spatial_transform_spec.ts";
import { samplerWgsl, variantKey, type WebGPUProgram } from "./spatial_transform_wgsl.ts";

const WORKGROUP = 64;

/** ∂image program: output `[N, H, W, C]` from `Dy [M, h, w, C]` and `Theta [M, 6]`. */
export function dImageProgram(
  imageShape: number[],
  alignCorners: boolean,
  paddingMode: PaddingMode,
): WebGPUProgram {
  const size = imageShape.reduce((a, b) => a * b, 1);
  return {
    variableNames: ["Dy", "Theta"],
    outputShape: imageShape,
    shaderKey: `rnnspnSpatialTransformDImage_${variantKey(alignCorners, paddingMode)}`,
    dispatchLayout: { x: [0, 1, 2, 3] },
    dispatch: [Math.max(1, Math.ceil(size / WORKGROUP)), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => `
      ${samplerWgsl(alignCorners, paddingMode)}

      // Beyond-the-edge bound in border mode; every inverted coordinate is kept below 1e27, so
      // this stays far outside and the divisions below stay finite.
      const EDGE : f32 = 1.0e30;
      const MAX_MAGNITUDE : f32 = 1.0e27;

      // Inclusive range of j in [0, w) whose linear coordinate A·j + D can land in [lo, hi];
      // empty when .x > .y. mag bounds the size of the terms that made A and D.
      fn candidates(A : f32, D : f32, lo0 : f32, hi0 : f32, mag : f32, w : i32) -> vec2<i32> {
        if (!(finite(mag) && mag < MAX_MAGNITUDE)) { return vec2<i32>(0, w - 1); }
        // Rounding of the forward coordinate is ~1e-7·mag; allow a thousand times that.
        let delta = 1.0e-4 * mag;
        let lo = lo0 - delta;
        let hi = hi0 + delta;
        let span = abs(A) * f32(w);
        if (abs(A) < 1.0e-6) {
          // Nearly constant along the row: all of it or none of it.
          if (D + span < lo || D - span > hi) { return vec2<i32>(1, 0); }
          return vec2<i32>(0, w - 1);
        }
        let t1 = (lo - D) / A;
        let t2 = (hi - D) / A;
        let a = clamp(min(t1, t2) - 1.0, -1.0, f32(w));
        let b = clamp(max(t1, t2) + 1.0, -1.0, f32(w));
        return vec2<i32>(max(i32(ceil(a)), 0), min(i32(floor(b)), w - 1));
      }

      // Weight of the tap at pixel P in a footprint starting at p0 with fraction t (0 if none).
      fn tapWeight(p0 : i32, t : f32, P : i32) -> f32 {
        if (p0 == P) { return 1.0 - t; }
        if (p0 + 1 == P) { return t; }
        return 0.0;
      }

      fn main(index : i32) {
        if (index >= uniforms.size) { return; }
        let N = uniforms.outShape.x;
        let H = uniforms.outShape.y;
        let W = uniforms.outShape.z;
        let C = uniforms.outShape.w;
        let M = uniforms.dyShape.x;
        let h = uniforms.dyShape.y;
        let w = uniforms.dyShape.z;
        let c = index % C;
        let pix = index / C;
        let X = pix % W;
        let Y = (pix / W) % H;
        let n = pix / (W * H);
        let k = M / N;

        // x_j = sx·j + ox, as baseCoord computes it.
        var sx = 0.0;
        var ox = 0.0;
        if (ALIGN_CORNERS) {
          if (w > 1) { sx = 2.0 / f32(w - 1); ox = -1.0; }
        } else {
          sx = 2.0 / f32(w);
          ox = 1.0 / f32(w) - 1.0;
        }
        let scaleW = unnormScale(W);
        let offW = unnormOffset(W);
        let scaleH = unnormScale(H);
        let offH = unnormOffset(H);
        // Target coordinate intervals: taps at X come from ix in [X-1, X+1).
        var loX = f32(X - 1);
        var hiX = f32(X + 1);
        var loY = f32(Y - 1);
        var hiY = f32(Y + 1);
        if (BORDER) {
          if (X == 0) { loX = -EDGE; }
          if (X == W - 1) { hiX = EDGE; }
          if (Y == 0) { loY = -EDGE; }
          if (Y == H - 1) { hiY = EDGE; }
        }

        var acc = 0.0;
        for (var r = 0; r < k; r++) {
          let m = n * k + r;
          let tx = thetaX(m);
          let ty = thetaY(m);
          let rowFinite = finite(tx.x) && finite(tx.y) && finite(tx.z) &&
                          finite(ty.x) && finite(ty.y) && finite(ty.z);
          if (!rowFinite) { continue; }
          let Ax = scaleW * tx.x * sx;
          let Ay = scaleH * ty.x * sx;
          let magX = scaleW * (abs(tx.x) + abs(tx.y) + abs(tx.z)) + abs(offW) + 1.0;
          let magY = scaleH * (abs(ty.x) + abs(ty.y) + abs(ty.z)) + abs(offH) + 1.0;
          for (var i = 0; i < h; i++) {
            let y = baseCoord(i, h);
            let Dx = scaleW * (tx.x * ox + tx.y * y + tx.z) + offW;
            let Dy_ = scaleH * (ty.x * ox + ty.y * y + ty.z) + offH;
            let rx = candidates(Ax, Dx, loX, hiX, magX, w);
            let ry = candidates(Ay, Dy_, loY, hiY, magY, w);
            let j0 = max(rx.x, ry.x);
            let j1 = min(rx.y, ry.y);
            let dyRow = (m * h + i) * w;
            for (var j = j0; j <= j1; j++) {
              let f = sampleAt(tx, ty, baseCoord(j, w), y, W, H);
              if (!f.valid) { continue; }
              let wxT = tapWeight(f.x0, f.wx, X);
              let wyT = tapWeight(f.y0, f.wy, Y);
              if (wxT == 0.0 || wyT == 0.0) { continue; }
              acc += (wxT * wyT) * Dy[(dyRow + j) * C + c];
            }
          }
        }
        result[index] = acc;
      }
    `,
  };
}

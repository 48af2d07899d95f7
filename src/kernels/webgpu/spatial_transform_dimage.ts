/**
 * ∂image of the spatial transform on WebGPU as a **gather**, so it is deterministic without atomics.
 *
 * The forward pass scatters nothing, but its adjoint does: output pixel `(m, i, j)` adds
 * `weight · dy` to up to four input pixels. Instead of scattering (float atomics do not exist in
 * WGSL, and fixed-point atomics lose range and precision), each invocation owns one input element
 * `(n, Y, X, c)` and sums, in a fixed order (row m, then i, then j), the output pixels whose
 * bilinear taps land on it. The result is bitwise reproducible and as accurate as a plain f32 sum.
 *
 * Finding those output pixels cheaply: per θ row, the pixel coordinates are affine in the output
 * indices, `(ix, iy) = (Ax·j + Bx·i + Cx, Ay·j + By·i + Cy)`. The taps at `(X, Y)` come from `ix` in
 * `[X-1, X+1]` and `iy` in `[Y-1, Y+1]` (in border mode an edge pixel's interval extends over the
 * row's whole coordinate range, since the clamp maps everything beyond onto it). The preimage of
 * that box is a parallelogram: its output rows `i` come from inverting the 2×2 map at the box
 * corners, and within each row the `j` form one interval per axis. Both bounds are widened by a
 * rounding margin and every candidate is re-checked with the exact forward footprint, so they only
 * have to be supersets: where the map is (nearly) singular or too large to invert safely the bound
 * falls back to the whole row or grid, and a θ row containing NaN/Inf (which makes every gx or gy
 * non-finite) contributes nothing. Cost per element: O(k·(rows hit + candidates)) instead of
 * O(k·h·w).
 *
 * @module
 */
import type { PaddingMode } from "../spatial_transform_spec.ts";
import { flatDispatch, samplerWgsl, variantKey, type WebGPUProgram } from "./spatial_transform_wgsl.ts";

const WORKGROUP = 64;

/**
 * WGSL `rowRange(Ax, Bx, Cx, Ay, By, Cy, lx, hx, ly, hy, h)`: the inclusive range of output rows i
 * whose pixels can land in the box [lx, hx] × [ly, hy] under the affine map (j, i) ↦ pixel
 * coordinates, found by inverting the 2×2 map at the box corners and widened for rounding; all of
 * [0, h) where that is not safe. Shared with the general sampler's ∂image (`sample_general.ts`).
 */
export const ROW_RANGE_WGSL = `
  // Below this every product in rowRange stays finite (≤ ~1e25 / 1e-8).
  const INVERT_LIMIT : f32 = 1.0e12;

  // Inclusive range of output rows i whose pixels can map into the box [lx, hx] × [ly, hy] under
  // (j, i) ↦ (Ax·j + Bx·i + Cx, Ay·j + By·i + Cy): the i of the box corners pulled back through
  // the inverse map, widened for rounding. The whole of [0, h) where that is not safe to invert.
  fn rowRange(Ax : f32, Bx : f32, Cx : f32, Ay : f32, By : f32, Cy : f32,
              lx : f32, hx : f32, ly : f32, hy : f32, h : i32) -> vec2<i32> {
    let det = Ax * By - Bx * Ay;
    let size = abs(Ax * By) + abs(Bx * Ay);
    let bounded = max(max(abs(lx), abs(hx)), max(abs(ly), abs(hy))) < INVERT_LIMIT &&
                  max(max(abs(Ax), abs(Bx)), max(abs(Ay), abs(By))) < INVERT_LIMIT &&
                  max(abs(Cx), abs(Cy)) < INVERT_LIMIT;
    if (!bounded || abs(det) < max(1.0e-8, 1.0e-6 * size)) { return vec2<i32>(0, h - 1); }
    let q0 = (Ax * (ly - Cy) - Ay * (lx - Cx)) / det;
    let q1 = (Ax * (hy - Cy) - Ay * (lx - Cx)) / det;
    let q2 = (Ax * (ly - Cy) - Ay * (hx - Cx)) / det;
    let q3 = (Ax * (hy - Cy) - Ay * (hx - Cx)) / det;
    let err = 1.0 + 1.0e-4 * (abs(Ax) * (max(abs(ly), abs(hy)) + abs(Cy)) +
                              abs(Ay) * (max(abs(lx), abs(hx)) + abs(Cx))) / abs(det);
    let a = clamp(min(min(q0, q1), min(q2, q3)) - err, -1.0, f32(h));
    let b = clamp(max(max(q0, q1), max(q2, q3)) + err, -1.0, f32(h));
    return vec2<i32>(max(i32(ceil(a)), 0), min(i32(floor(b)), h - 1));
  }
`;

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
    dispatch: flatDispatch(size, WORKGROUP),
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => `
      ${samplerWgsl(alignCorners, paddingMode)}

      // Beyond-the-edge bound in border mode; every inverted coordinate is kept below 1e27, so
      // this stays far outside and the divisions below stay finite.
      const EDGE : f32 = 1.0e30;
      const MAX_MAGNITUDE : f32 = 1.0e27;
      ${ROW_RANGE_WGSL}

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
        let mx = axisMap(w);
        let my = axisMap(h);
        let scaleW = unnormScale(W);
        let offW = unnormOffset(W);
        let scaleH = unnormScale(H);
        let offH = unnormOffset(H);

        var acc = 0.0;
        for (var r = 0; r < k; r++) {
          let m = n * k + r;
          let tx = thetaX(m);
          let ty = thetaY(m);
          let rowFinite = finite(tx.x) && finite(tx.y) && finite(tx.z) &&
                          finite(ty.x) && finite(ty.y) && finite(ty.z);
          if (!rowFinite) { continue; }
          // The row's pixel coordinates as affine maps of (j, i).
          let Ax = scaleW * tx.x * mx.x;
          let Bx = scaleW * tx.y * my.x;
          let Cx = scaleW * (tx.x * mx.y + tx.y * my.y + tx.z) + offW;
          let Ay = scaleH * ty.x * mx.x;
          let By = scaleH * ty.y * my.x;
          let Cy = scaleH * (ty.x * mx.y + ty.y * my.y + ty.z) + offH;
          let magX = scaleW * (abs(tx.x) + abs(tx.y) + abs(tx.z)) + abs(offW) + 1.0;
          let magY = scaleH * (abs(ty.x) + abs(ty.y) + abs(ty.z)) + abs(offH) + 1.0;
          // Taps at X come from ix in [X-1, X+1). In border mode the clamp maps everything beyond an
          // edge onto the edge pixel, so an edge pixel's interval extends over the row's whole range.
          var lx = f32(X - 1);
          var hx = f32(X + 1);
          var ly = f32(Y - 1);
          var hy = f32(Y + 1);
          if (BORDER) {
            let spanX = abs(Ax) * f32(w - 1) + abs(Bx) * f32(h - 1) + 1.0;
            let spanY = abs(Ay) * f32(w - 1) + abs(By) * f32(h - 1) + 1.0;
            let okX = magX < MAX_MAGNITUDE;
            let okY = magY < MAX_MAGNITUDE;
            if (X == 0) { lx = select(-EDGE, min(lx, Cx - spanX), okX); }
            if (X == W - 1) { hx = select(EDGE, max(hx, Cx + spanX), okX); }
            if (Y == 0) { ly = select(-EDGE, min(ly, Cy - spanY), okY); }
            if (Y == H - 1) { hy = select(EDGE, max(hy, Cy + spanY), okY); }
          }
          let dX = 1.0e-4 * magX;
          let dY = 1.0e-4 * magY;
          let rows = rowRange(Ax, Bx, Cx, Ay, By, Cy, lx - dX, hx + dX, ly - dY, hy + dY, h);
          for (var i = rows.x; i <= rows.y; i++) {
            let y = baseCoord(i, h);
            let Dx = scaleW * (tx.x * mx.y + tx.y * y + tx.z) + offW;
            let Dy_ = scaleH * (ty.x * mx.y + ty.y * y + ty.z) + offH;
            let rx = candidates(Ax, Dx, lx, hx, magX, w);
            let ry = candidates(Ay, Dy_, ly, hy, magY, w);
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

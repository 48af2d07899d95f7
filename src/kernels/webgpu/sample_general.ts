/**
 * The general webgpu sampler: every mode, every padding, affine or projective θ, forward and
 * backward, with the geometry and the mode's taps from `sample_wgsl.ts`. Bilinear affine sampling
 * with zeros or border padding keeps its own, faster programs (`spatial_transform*.ts`).
 *
 * Both gradients are deterministic (no atomics, every sum in a fixed order; repeated runs are
 * bitwise identical):
 * - ∂θ `[M, P]`: one workgroup per θ row, a fixed strided walk of the row's output pixels, then a
 *   fixed-shape tree in shared memory (as the bilinear ∂θ program).
 * - ∂image `[N, H, W, C]`: a gather. Each invocation owns one input element and visits, in a fixed
 *   order (θ row m, then output row i, then column j), the output pixels whose taps can reach it,
 *   adding `weightAt · dy`. Along an output row the pixel coordinate is `ix = u(j) / d(j)` with u
 *   and d linear in j (d = 1 when affine), so, where d keeps one sign on the row, "ix within REACH
 *   of X" is two linear inequalities in j, and with y's two an interval of candidates; it is widened
 *   for rounding and every candidate is re-checked with the exact forward footprint, so it only
 *   has to be a superset. Affine θ also bounds the output rows, as the bilinear program does (the
 *   2×2 map inverted at the box corners): O(k·(rows hit + candidates)) per element; projective θ
 *   visits every row, O(k·(h + candidates)). Reflection padding folds many coordinate ranges
 *   onto one pixel, and a row whose denominator changes sign is not monotone: those rows are
 *   scanned whole (O(k·h·w) per element; a bound over the reflected copies is left for later).
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import type { SpatialTransformAttrs } from "../spatial_transform_spec.ts";
import { sampleKey, type SampleVariant, sampleWgsl } from "./sample_wgsl.ts";
import { ROW_RANGE_WGSL } from "./spatial_transform_dimage.ts";
import { flatDispatch, type WebGpuBackendLike, type WebGPUProgram } from "./spatial_transform_wgsl.ts";

const WORKGROUP = 64;
/** Invocations per θ row in the ∂θ program; a power of two for the tree reduction. */
const ROW_GROUP = 128;

function variantOf(attrs: SpatialTransformAttrs, params: number): SampleVariant {
  return {
    mode: attrs.mode ?? "bilinear",
    paddingMode: attrs.paddingMode,
    alignCorners: attrs.alignCorners,
    params,
  };
}

/** Forward: output `[M, h, w, C]` from `Image [N, H, W, C]` and `Theta [M, P]`. */
function forwardProgram(outShape: number[], v: SampleVariant): WebGPUProgram {
  return {
    variableNames: ["Image", "Theta"],
    outputShape: outShape,
    shaderKey: `rnnspnSample_${sampleKey(v)}`,
    dispatchLayout: { x: [0, 1, 2, 3] },
    dispatch: flatDispatch(outShape[0] * outShape[1] * outShape[2], WORKGROUP),
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => `
      ${sampleWgsl(v)}

      fn main(index : i32) {
        let N = uniforms.imageShape.x;
        let H = uniforms.imageShape.y;
        let W = uniforms.imageShape.z;
        let C = uniforms.imageShape.w;
        let M = uniforms.outShape.x;
        let h = uniforms.outShape.y;
        let w = uniforms.outShape.z;
        if (index >= M * h * w) { return; }
        let m = index / (h * w);
        let ij = index - m * h * w;
        let i = ij / w;
        let j = ij - i * w;
        let outBase = index * C;
        let s = samplePoint(m, baseCoord(j, w), baseCoord(i, h), W, H);
        if (!s.valid) {
          for (var c = 0; c < C; c++) { result[outBase + c] = 0.0; }
          return;
        }
        let imageBase = (m / (M / N)) * H * W;
        let p = point(s.ix, s.iy, W, H);
        for (var c = 0; c < C; c++) {
          var v = 0.0;
          for (var t = 0; t < TAPS; t++) {
            let tp = tap(p, t, W, H);
            if (tp.index >= 0) { v += tp.w * Image[(imageBase + tp.index) * C + c]; }
          }
          result[outBase + c] = v;
        }
      }
    `,
  };
}

/** ∂θ: output `[M, P]` from `Dy [M, h, w, C]`, `Image [N, H, W, C]` and `Theta [M, P]`. */
function dThetaProgram(m: number, v: SampleVariant): WebGPUProgram {
  return {
    variableNames: ["Dy", "Image", "Theta"],
    outputShape: [m, v.params],
    shaderKey: `rnnspnSampleDTheta_${sampleKey(v)}`,
    dispatchLayout: { x: [0, 1] },
    // One workgroup per row; tfjs folds this into 2-D past 65535 rows, hence the linear id below.
    dispatch: [m, 1, 1],
    workgroupSize: [ROW_GROUP, 1, 1],
    getUserCode: () => `
      ${sampleWgsl(v)}

      const ROW_GROUP : i32 = ${ROW_GROUP};
      var<workgroup> partial : array<f32, ${9 * ROW_GROUP}>;

      fn main(index : i32) {
        let N = uniforms.imageShape.x;
        let H = uniforms.imageShape.y;
        let W = uniforms.imageShape.z;
        let C = uniforms.imageShape.w;
        let M = uniforms.dyShape.x;
        let h = uniforms.dyShape.y;
        let w = uniforms.dyShape.z;
        let row = i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y +
                      workgroupId.y * numWorkgroups.x + workgroupId.x);
        let lid = i32(localIndex);
        // Surplus workgroups (after tfjs's 2-D folding) redo the last row and write nothing: every
        // invocation must reach the barriers below.
        let m = min(row, M - 1);
        let imageBase = (m / (M / N)) * H * W;
        let scaleW = unnormScale(W);
        let scaleH = unnormScale(H);
        var a : array<f32, 9>;
        for (var q = 0; q < 9; q++) { a[q] = 0.0; }
        let pixels = h * w;
        for (var pix = lid; pix < pixels; pix += ROW_GROUP) {
          let i = pix / w;
          let j = pix - i * w;
          let x = baseCoord(j, w);
          let y = baseCoord(i, h);
          let s = samplePoint(m, x, y, W, H);
          if (!s.valid) { continue; }
          let p = point(s.ix, s.iy, W, H);
          let dyBase = (m * pixels + pix) * C;
          var gix = 0.0;
          var giy = 0.0;
          for (var t = 0; t < TAPS; t++) {
            let tp = tap(p, t, W, H);
            if (tp.index < 0 || (tp.dx == 0.0 && tp.dy == 0.0)) { continue; }
            for (var c = 0; c < C; c++) {
              let g = Dy[dyBase + c] * Image[(imageBase + tp.index) * C + c];
              gix += tp.dx * g;
              giy += tp.dy * g;
            }
          }
          // ∂L/∂gx, ∂L/∂gy; a projective θ also sees the division by den.
          let ggx = gix * scaleW / s.den;
          let ggy = giy * scaleH / s.den;
          a[0] += ggx * x; a[1] += ggx * y; a[2] += ggx;
          a[3] += ggy * x; a[4] += ggy * y; a[5] += ggy;
          if (PARAMS == 9) {
            let gd = -(ggx * s.gx + ggy * s.gy);
            a[6] += gd * x; a[7] += gd * y; a[8] += gd;
          }
        }
        for (var q = 0; q < 9; q++) { partial[q * ROW_GROUP + lid] = a[q]; }
        workgroupBarrier();
        for (var s = ROW_GROUP / 2; s > 0; s = s / 2) {
          if (lid < s) {
            for (var q = 0; q < PARAMS; q++) {
              partial[q * ROW_GROUP + lid] += partial[q * ROW_GROUP + lid + s];
            }
          }
          workgroupBarrier();
        }
        if (lid < PARAMS && row < M) {
          result[row * PARAMS + lid] = partial[lid * ROW_GROUP];
        }
      }
    `,
  };
}

/** ∂image: output `[N, H, W, C]` from `Dy [M, h, w, C]` and `Theta [M, P]` (a gather; see above). */
function dImageProgram(imageShape: number[], v: SampleVariant): WebGPUProgram {
  return {
    variableNames: ["Dy", "Theta"],
    outputShape: imageShape,
    shaderKey: `rnnspnSampleDImage_${sampleKey(v)}`,
    dispatchLayout: { x: [0, 1, 2, 3] },
    dispatch: flatDispatch(imageShape.reduce((a, b) => a * b, 1), WORKGROUP),
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => `
      ${sampleWgsl(v)}

      // Above this θ magnitude the bound's products could overflow: scan whole rows instead.
      const BOUND_LIMIT : f32 = 1.0e12;
      ${ROW_RANGE_WGSL}

      // Narrows the j range r to where a·j + b ≥ 0 can hold, for j in [0, w); slack covers the
      // rounding of a and b (their terms are at most mag in size).
      fn halfLine(a : f32, b : f32, mag : f32, r : vec2<f32>, w : i32) -> vec2<f32> {
        let slack = 1.0e-4 * mag;
        let span = abs(a) * f32(w);
        if (span <= slack) {
          // Nearly constant along the row: all of it or none of it.
          if (b + span < -2.0 * slack) { return vec2<f32>(1.0, 0.0); }
          return r;
        }
        let t = (-slack - b) / a;
        if (a > 0.0) { return vec2<f32>(max(r.x, t - 1.0), r.y); }
        return vec2<f32>(r.x, min(r.y, t + 1.0));
      }

      // With u(j) = uA·j + uB the pixel coordinate's numerator and d(j) = dA·j + dB > 0 its
      // denominator (ix = u / d), narrows r to the j where ix can lie in [lo, hi]; an edge pixel's
      // side is open in border mode, where the clamp maps everything beyond the edge onto it.
      // magU and magD bound the terms of u and d, so |terms of u - c·d| ≤ magU + |c|·magD.
      fn axisRange(uA : f32, uB : f32, dA : f32, dB : f32, lo : f32, hi : f32, openLo : bool,
                   openHi : bool, magU : f32, magD : f32, r0 : vec2<f32>, w : i32) -> vec2<f32> {
        var r = r0;
        if (!openLo) { r = halfLine(uA - lo * dA, uB - lo * dB, magU + abs(lo) * magD, r, w); }
        if (!openHi) { r = halfLine(hi * dA - uA, hi * dB - uB, magU + abs(hi) * magD, r, w); }
        return r;
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
        let sx = unnormScale(W);
        let ox = unnormOffset(W);
        let sy = unnormScale(H);
        let oy = unnormOffset(H);
        var acc = 0.0;
        for (var r = 0; r < k; r++) {
          let m = n * k + r;
          let b = m * PARAMS;
          var t : array<f32, 9>;
          var size = 0.0;
          var rowFinite = true;
          for (var q = 0; q < 9; q++) {
            t[q] = select(0.0, Theta[b + min(q, PARAMS - 1)], q < PARAMS);
            rowFinite = rowFinite && finite(t[q]);
            size += abs(t[q]);
          }
          if (PARAMS == 6) { t[8] = 1.0; }
          // A non-finite θ entry makes every point of the row invalid (NaN·0 is NaN).
          if (!rowFinite) { continue; }
          // Reflection folds many coordinate ranges onto a pixel: scan whole rows there.
          let bounded = PADDING != 2 && size < BOUND_LIMIT;
          // |x|, |y| ≤ 1, so every term of a numerator or the denominator is at most size + 1.
          let magD = size + 1.0;
          let magX = (abs(sx) + abs(ox)) * magD;
          let magY = (abs(sy) + abs(oy)) * magD;
          // Affine: only the output rows whose pixels can reach the box around (X, Y) (the
          // bilinear program's 2×2 inversion); projective rows are bounded per row only.
          var rows = vec2<i32>(0, h - 1);
          if (bounded && PARAMS == 6) {
            let my = axisMap(h);
            let Ax = sx * t[0] * mx.x;
            let Bx = sx * t[1] * my.x;
            let Cx = sx * (t[0] * mx.y + t[1] * my.y + t[2]) + ox;
            let Ay = sy * t[3] * mx.x;
            let By = sy * t[4] * my.x;
            let Cy = sy * (t[3] * mx.y + t[4] * my.y + t[5]) + oy;
            var lx = f32(X) - REACH;
            var hx = f32(X) + REACH;
            var ly = f32(Y) - REACH;
            var hy = f32(Y) + REACH;
            if (PADDING == 1) {
              // Border: an edge pixel's box extends over the whole range the grid can reach.
              let spanX = abs(Ax) * f32(w - 1) + abs(Bx) * f32(h - 1) + 1.0;
              let spanY = abs(Ay) * f32(w - 1) + abs(By) * f32(h - 1) + 1.0;
              if (X == 0) { lx = min(lx, Cx - spanX); }
              if (X == W - 1) { hx = max(hx, Cx + spanX); }
              if (Y == 0) { ly = min(ly, Cy - spanY); }
              if (Y == H - 1) { hy = max(hy, Cy + spanY); }
            }
            let dX = 1.0e-4 * magX;
            let dY = 1.0e-4 * magY;
            rows = rowRange(Ax, Bx, Cx, Ay, By, Cy, lx - dX, hx + dX, ly - dY, hy + dY, h);
          }
          for (var i = rows.x; i <= rows.y; i++) {
            let y = baseCoord(i, h);
            var range = vec2<f32>(0.0, f32(w - 1));
            if (bounded) {
              // Numerators and denominator along the row, linear in j; den's sign made positive.
              let dA = t[6] * mx.x;
              let dB = t[6] * mx.y + t[7] * y + t[8];
              let d0 = dB;
              let d1 = dA * f32(w - 1) + dB;
              if (!(d0 > 0.0 && d1 > 0.0) && !(d0 < 0.0 && d1 < 0.0)) {
                // The denominator changes sign (or vanishes) along the row: scan it whole.
              } else {
                let sgn = select(-1.0, 1.0, d0 > 0.0);
                let xA = sgn * (sx * t[0] * mx.x + ox * dA);
                let xB = sgn * (sx * (t[0] * mx.y + t[1] * y + t[2]) + ox * dB);
                let yA = sgn * (sy * t[3] * mx.x + oy * dA);
                let yB = sgn * (sy * (t[3] * mx.y + t[4] * y + t[5]) + oy * dB);
                let border = PADDING == 1;
                range = axisRange(xA, xB, sgn * dA, sgn * dB, f32(X) - REACH, f32(X) + REACH,
                                  border && X == 0, border && X == W - 1, magX, magD, range, w);
                range = axisRange(yA, yB, sgn * dA, sgn * dB, f32(Y) - REACH, f32(Y) + REACH,
                                  border && Y == 0, border && Y == H - 1, magY, magD, range, w);
              }
            }
            let j0 = max(i32(ceil(clamp(range.x, -1.0, f32(w)))), 0);
            let j1 = min(i32(floor(clamp(range.y, -1.0, f32(w)))), w - 1);
            for (var j = j0; j <= j1; j++) {
              let s = samplePoint(m, baseCoord(j, w), y, W, H);
              if (!s.valid) { continue; }
              let wt = weightAt(point(s.ix, s.iy, W, H), X, Y);
              if (wt != 0.0) { acc += wt * Dy[((m * h + i) * w + j) * C + c]; }
            }
          }
        }
        result[index] = acc;
      }
    `,
  };
}

/** Forward of the general sampler on `backend`. */
export function sampleForwardWebGpu(
  backend: WebGpuBackendLike,
  image: tf.TensorInfo,
  theta: tf.TensorInfo,
  attrs: SpatialTransformAttrs,
): tf.TensorInfo {
  const v = variantOf(attrs, theta.shape[1]);
  const outShape = [theta.shape[0], attrs.outHeight, attrs.outWidth, image.shape[3]];
  return backend.runWebGPUProgram(forwardProgram(outShape, v), [image, theta], "float32");
}

/** Backward of the general sampler on `backend`: `[∂image, ∂θ]`. */
export function sampleBackwardWebGpu(
  backend: WebGpuBackendLike,
  dy: tf.TensorInfo,
  image: tf.TensorInfo,
  theta: tf.TensorInfo,
  attrs: SpatialTransformAttrs,
): tf.TensorInfo[] {
  const v = variantOf(attrs, theta.shape[1]);
  return [
    backend.runWebGPUProgram(dImageProgram(image.shape, v), [dy, theta], "float32"),
    backend.runWebGPUProgram(dThetaProgram(theta.shape[0], v), [dy, image, theta], "float32"),
  ];
}

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
 *   order (row m, then i, then j), every output pixel of its image's θ rows, adding `weightAt · dy`.
 *   Unlike the bilinear program's parallelogram bound, this visits all k·h·w output pixels: with
 *   reflection padding, bicubic taps or a projective map the preimage of a pixel is not one convex
 *   region, and a superset that is cheap and provably complete was not worth its risk here.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import type { SpatialTransformAttrs } from "../spatial_transform_spec.ts";
import { sampleKey, type SampleVariant, sampleWgsl } from "./sample_wgsl.ts";
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
        var acc = 0.0;
        for (var r = 0; r < k; r++) {
          let m = n * k + r;
          for (var i = 0; i < h; i++) {
            let y = baseCoord(i, h);
            for (var j = 0; j < w; j++) {
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

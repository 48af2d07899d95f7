/**
 * Backward spatial transform on WebGPU (WGSL): two programs, both deterministic (no atomics, every
 * sum in a fixed order, so repeated runs are bitwise identical). Bilinear affine with zeros or
 * border padding here; other modes, reflection and projective θ in `sample_general.ts` (also
 * deterministic).
 *
 * - ∂θ `[M, 6]`: one workgroup per θ row; each invocation walks a fixed strided subset of the row's
 *   output pixels, then the workgroup adds the partial sums in a fixed-shape tree in shared memory.
 * - ∂image `[N, H, W, C]`: a gather (see `spatial_transform_dimage.ts`): each invocation owns one
 *   input element and sums, in a fixed order, every output pixel whose bilinear taps touch it.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import { isBilinearAffine, type PaddingMode, SPATIAL_TRANSFORM_GRAD } from "../spatial_transform_spec.ts";
import { sampleBackwardWebGpu } from "./sample_general.ts";
import { dImageProgram } from "./spatial_transform_dimage.ts";
import {
  assertFloat32,
  readAttrs,
  samplerWgsl,
  variantKey,
  type WebGpuBackendLike,
  type WebGPUProgram,
} from "./spatial_transform_wgsl.ts";

/** Invocations per θ row; a power of two for the tree reduction. */
const ROW_GROUP = 128;

/** ∂θ program: output `[M, 6]` from `Dy [M, h, w, C]`, `Image [N, H, W, C]` and `Theta [M, 6]`. */
function dThetaProgram(m: number, alignCorners: boolean, paddingMode: PaddingMode): WebGPUProgram {
  return {
    variableNames: ["Dy", "Image", "Theta"],
    outputShape: [m, 6],
    shaderKey: `rnnspnSpatialTransformDTheta_${variantKey(alignCorners, paddingMode)}`,
    dispatchLayout: { x: [0, 1] },
    // One workgroup per row; tfjs folds this into 2-D past 65535 rows, hence the linear id below.
    dispatch: [m, 1, 1],
    workgroupSize: [ROW_GROUP, 1, 1],
    getUserCode: () => `
      ${samplerWgsl(alignCorners, paddingMode)}

      const ROW_GROUP : i32 = ${ROW_GROUP};
      var<workgroup> partial : array<f32, ${6 * ROW_GROUP}>;

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
        let n = m / (M / N);
        let tx = thetaX(m);
        let ty = thetaY(m);
        var a0 = 0.0; var a1 = 0.0; var a2 = 0.0;
        var a3 = 0.0; var a4 = 0.0; var a5 = 0.0;
        let pixels = h * w;
        for (var p = lid; p < pixels; p += ROW_GROUP) {
          let i = p / w;
          let j = p - i * w;
          let x = baseCoord(j, w);
          let y = baseCoord(i, h);
          let f = sampleAt(tx, ty, x, y, W, H);
          if (!f.valid || (f.dxg == 0.0 && f.dyg == 0.0)) { continue; }
          let t = tapsAt(f, n, W, H, C);
          let dyBase = (m * pixels + p) * C;
          var gix = 0.0;
          var giy = 0.0;
          for (var c = 0; c < C; c++) {
            let g = Dy[dyBase + c];
            // Taps outside the image read 0 (and so pass no gradient to it).
            let v00 = select(0.0, Image[t.i00 + c], t.in00);
            let v01 = select(0.0, Image[t.i01 + c], t.in01);
            let v10 = select(0.0, Image[t.i10 + c], t.in10);
            let v11 = select(0.0, Image[t.i11 + c], t.in11);
            gix += g * ((1.0 - f.wy) * (v01 - v00) + f.wy * (v11 - v10));
            giy += g * ((1.0 - f.wx) * (v10 - v00) + f.wx * (v11 - v01));
          }
          let dgx = gix * f.dxg;
          let dgy = giy * f.dyg;
          a0 += dgx * x; a1 += dgx * y; a2 += dgx;
          a3 += dgy * x; a4 += dgy * y; a5 += dgy;
        }
        partial[lid] = a0;
        partial[ROW_GROUP + lid] = a1;
        partial[2 * ROW_GROUP + lid] = a2;
        partial[3 * ROW_GROUP + lid] = a3;
        partial[4 * ROW_GROUP + lid] = a4;
        partial[5 * ROW_GROUP + lid] = a5;
        workgroupBarrier();
        for (var s = ROW_GROUP / 2; s > 0; s = s / 2) {
          if (lid < s) {
            for (var k = 0; k < 6; k++) {
              partial[k * ROW_GROUP + lid] += partial[k * ROW_GROUP + lid + s];
            }
          }
          workgroupBarrier();
        }
        if (lid < 6 && row < M) {
          result[row * 6 + lid] = partial[lid * ROW_GROUP];
        }
      }
    `,
  };
}

function spatialTransformGradWebGpu(
  { inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): tf.TensorInfo[] {
  const { dy, image, theta } = inputs as { dy: tf.TensorInfo; image: tf.TensorInfo; theta: tf.TensorInfo };
  const checked = readAttrs(attrs, SPATIAL_TRANSFORM_GRAD);
  const { outHeight, outWidth, alignCorners, paddingMode } = checked;
  assertFloat32(SPATIAL_TRANSFORM_GRAD, { dy, image, theta });
  const [n, , , c] = image.shape;
  const m = theta.shape[0];
  const expectedDy = [m, outHeight, outWidth, c];
  if (
    theta.shape.length !== 2 || (theta.shape[1] !== 6 && theta.shape[1] !== 9) || n < 1 || m % n !== 0 ||
    dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expectedDy[i])
  ) {
    throw new Error(
      `${SPATIAL_TRANSFORM_GRAD} (webgpu): expected theta [k·N, 6 or 9] and dy [${
        expectedDy.join(", ")
      }] for ` +
        `image [${image.shape.join(", ")}]; got theta [${theta.shape.join(", ")}], dy [${
          dy.shape.join(", ")
        }]`,
    );
  }
  const gpu = backend as WebGpuBackendLike;
  if (!isBilinearAffine(checked, theta.shape[1])) return sampleBackwardWebGpu(gpu, dy, image, theta, checked);
  const dImage = gpu.runWebGPUProgram(
    dImageProgram(image.shape, alignCorners, paddingMode),
    [dy, theta],
    "float32",
  );
  const dTheta = gpu.runWebGPUProgram(
    dThetaProgram(m, alignCorners, paddingMode),
    [dy, image, theta],
    "float32",
  );
  return [dImage, dTheta];
}

/** The backward kernel on the `webgpu` backend: outputs `[dImage, dTheta]`. */
export const spatialTransformGradWebGpuConfig: tf.KernelConfig = {
  kernelName: SPATIAL_TRANSFORM_GRAD,
  backendName: "webgpu",
  kernelFunc: spatialTransformGradWebGpu as unknown as tf.KernelFunc,
};

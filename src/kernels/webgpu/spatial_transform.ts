/**
 * Forward spatial transform on WebGPU (WGSL): one invocation per output pixel `(m, i, j)`, which
 * computes the sampling footprint once and then interpolates every channel. Bilinear affine with
 * zeros or border padding here; other modes, reflection and projective θ in `sample_general.ts`. Row `m` of θ samples
 * image `floor(m / k)`, `k = M / N`, so glimpses never tile the image.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import { isBilinearAffine, type PaddingMode, SPATIAL_TRANSFORM } from "../spatial_transform_spec.ts";
import { sampleForwardWebGpu } from "./sample_general.ts";
import {
  assertFloat32,
  flatDispatch,
  readAttrs,
  samplerWgsl,
  variantKey,
  type WebGpuBackendLike,
  type WebGPUProgram,
} from "./spatial_transform_wgsl.ts";

const WORKGROUP = 64;

/** Forward program: output `[M, h, w, C]` from `Image [N, H, W, C]` and `Theta [M, 6]`. */
function forwardProgram(
  outShape: number[],
  alignCorners: boolean,
  paddingMode: PaddingMode,
): WebGPUProgram {
  const pixels = outShape[0] * outShape[1] * outShape[2];
  return {
    variableNames: ["Image", "Theta"],
    outputShape: outShape,
    shaderKey: `rnnspnSpatialTransform_${variantKey(alignCorners, paddingMode)}`,
    dispatchLayout: { x: [0, 1, 2, 3] },
    dispatch: flatDispatch(pixels, WORKGROUP),
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => `
      ${samplerWgsl(alignCorners, paddingMode)}

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
        let f = sampleAt(thetaX(m), thetaY(m), baseCoord(j, w), baseCoord(i, h), W, H);
        if (!f.valid) {
          for (var c = 0; c < C; c++) { result[outBase + c] = 0.0; }
          return;
        }
        let n = m / (M / N);
        let t = tapsAt(f, n, W, H, C);
        // Out-of-image taps keep a clamped in-buffer index and a zero weight.
        let w00 = select(0.0, (1.0 - f.wx) * (1.0 - f.wy), t.in00);
        let w01 = select(0.0, f.wx * (1.0 - f.wy), t.in01);
        let w10 = select(0.0, (1.0 - f.wx) * f.wy, t.in10);
        let w11 = select(0.0, f.wx * f.wy, t.in11);
        for (var c = 0; c < C; c++) {
          var v = 0.0;
          if (w00 != 0.0) { v += w00 * Image[t.i00 + c]; }
          if (w01 != 0.0) { v += w01 * Image[t.i01 + c]; }
          if (w10 != 0.0) { v += w10 * Image[t.i10 + c]; }
          if (w11 != 0.0) { v += w11 * Image[t.i11 + c]; }
          result[outBase + c] = v;
        }
      }
    `,
  };
}

function spatialTransformWebGpu(
  { inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): tf.TensorInfo {
  const { image, theta } = inputs as { image: tf.TensorInfo; theta: tf.TensorInfo };
  const checked = readAttrs(attrs, SPATIAL_TRANSFORM);
  const { outHeight, outWidth, alignCorners, paddingMode } = checked;
  assertFloat32(SPATIAL_TRANSFORM, { image, theta });
  const [n, , , c] = image.shape;
  const m = theta.shape[0];
  if (theta.shape.length !== 2 || (theta.shape[1] !== 6 && theta.shape[1] !== 9) || n < 1 || m % n !== 0) {
    throw new Error(
      `${SPATIAL_TRANSFORM} (webgpu): theta must be [k·N, 6] or [k·N, 9] for image [${
        image.shape.join(", ")
      }]; got [${theta.shape.join(", ")}]`,
    );
  }
  if (!isBilinearAffine(checked, theta.shape[1])) {
    return sampleForwardWebGpu(backend as WebGpuBackendLike, image, theta, checked);
  }
  const program = forwardProgram([m, outHeight, outWidth, c], alignCorners, paddingMode);
  return (backend as WebGpuBackendLike).runWebGPUProgram(program, [image, theta], "float32");
}

/** The forward kernel on the `webgpu` backend. */
export const spatialTransformWebGpuConfig: tf.KernelConfig = {
  kernelName: SPATIAL_TRANSFORM,
  backendName: "webgpu",
  kernelFunc: spatialTransformWebGpu as unknown as tf.KernelFunc,
};

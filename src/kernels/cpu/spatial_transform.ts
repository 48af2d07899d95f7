/**
 * cpu forward kernel of {@linkcode SPATIAL_TRANSFORM}: affine grid + bilinear sampling with zeros or
 * border padding, fused, in plain TypeScript; every other mode, padding and projective θ goes to the
 * general sampler (`sample_general.ts`). Coordinates and weights are float64; each output is
 * rounded to float32 once.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import {
  isBilinearAffine,
  SPATIAL_TRANSFORM,
  type SpatialTransformAttrs,
} from "../spatial_transform_spec.ts";
import { sampleForwardCpu } from "./sample_general.ts";
import { type CpuBackend, samplerSetup } from "./spatial_transform_common.ts";

function spatialTransformCpu(
  { inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown },
): tf.TensorInfo {
  const cpu = backend as CpuBackend;
  const { image, theta } = inputs as Record<string, tf.TensorInfo>;
  if (!isBilinearAffine(attrs as SpatialTransformAttrs, theta.shape[1])) {
    return sampleForwardCpu(cpu, image, theta, attrs);
  }
  const { h, w, height, width, c, m, k, img, th, xs, ys, ux, uy, border, rowStride } = samplerSetup(
    cpu,
    image,
    theta,
    attrs,
  );
  const out = new Float32Array(m * h * w * c);
  for (let r = 0; r < m; r++) {
    const t = r * 6;
    const t0 = th[t], t1 = th[t + 1], t2 = th[t + 2], t3 = th[t + 3], t4 = th[t + 4], t5 = th[t + 5];
    const base = Math.floor(r / k) * height * rowStride;
    for (let i = 0; i < h; i++) {
      const y = ys[i];
      for (let j = 0; j < w; j++) {
        const x = xs[j];
        const gx = t0 * x + t1 * y + t2;
        const gy = t3 * x + t4 * y + t5;
        const o = ((r * h + i) * w + j) * c;
        // Non-finite coordinates give 0 (the array is already zero) and touch no memory.
        if (!Number.isFinite(gx) || !Number.isFinite(gy)) continue;
        let ix = ux.scale * gx + ux.offset;
        let iy = uy.scale * gy + uy.offset;
        if (border) {
          ix = Math.min(width - 1, Math.max(ix, 0));
          iy = Math.min(height - 1, Math.max(iy, 0));
        }
        const x0 = Math.floor(ix), y0 = Math.floor(iy);
        const x1 = x0 + 1, y1 = y0 + 1;
        const wx1 = ix - x0, wx0 = x1 - ix, wy1 = iy - y0, wy0 = y1 - iy;
        const inX0 = x0 >= 0 && x0 < width, inX1 = x1 >= 0 && x1 < width;
        const inY0 = y0 >= 0 && y0 < height, inY1 = y1 >= 0 && y1 < height;
        const p00 = base + y0 * rowStride + x0 * c;
        for (let ch = 0; ch < c; ch++) {
          let v = 0;
          if (inY0) {
            if (inX0) v += wx0 * wy0 * img[p00 + ch];
            if (inX1) v += wx1 * wy0 * img[p00 + c + ch];
          }
          if (inY1) {
            if (inX0) v += wx0 * wy1 * img[p00 + rowStride + ch];
            if (inX1) v += wx1 * wy1 * img[p00 + rowStride + c + ch];
          }
          out[o + ch] = v;
        }
      }
    }
  }
  return cpu.makeTensorInfo([m, h, w, c], "float32", out);
}

/** The cpu forward kernel (see `spatial_transform_spec.ts`). */
export const spatialTransformCpuConfig: tf.KernelConfig = {
  kernelName: SPATIAL_TRANSFORM,
  backendName: "cpu",
  kernelFunc: spatialTransformCpu as unknown as tf.KernelFunc,
};

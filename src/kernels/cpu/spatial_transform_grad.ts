/**
 * cpu backward kernel of the spatial transform, {@linkcode SPATIAL_TRANSFORM_GRAD}: one pass over
 * the output gradient that scatters into ∂image and accumulates ∂θ (bilinear affine, zeros or border
 * padding; everything else goes to `sample_general.ts`). Both accumulate in float64 and
 * are rounded to float32 once at the end; the loop order is fixed, so results are deterministic.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import {
  isBilinearAffine,
  SPATIAL_TRANSFORM_GRAD,
  type SpatialTransformAttrs,
} from "../spatial_transform_spec.ts";
import { sampleBackwardCpu } from "./sample_general.ts";
import { type CpuBackend, floatValues, samplerSetup } from "./spatial_transform_common.ts";

function spatialTransformGradCpu(
  { inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown },
): tf.TensorInfo[] {
  const cpu = backend as CpuBackend;
  const { dy, image, theta } = inputs as Record<string, tf.TensorInfo>;
  if (!isBilinearAffine(attrs as SpatialTransformAttrs, theta.shape[1])) {
    return sampleBackwardCpu(cpu, dy, image, theta, attrs);
  }
  const { h, w, n, height, width, c, m, k, img, th, xs, ys, ux, uy, border, rowStride } = samplerSetup(
    cpu,
    image,
    theta,
    attrs,
  );
  const g = floatValues(cpu, dy, "dy");
  const dImage = new Float64Array(img.length);
  const dTheta = new Float32Array(m * 6);
  for (let r = 0; r < m; r++) {
    const t = r * 6;
    const t0 = th[t], t1 = th[t + 1], t2 = th[t + 2], t3 = th[t + 3], t4 = th[t + 4], t5 = th[t + 5];
    const base = Math.floor(r / k) * height * rowStride;
    let d0 = 0, d1 = 0, d2 = 0, d3 = 0, d4 = 0, d5 = 0;
    for (let i = 0; i < h; i++) {
      const y = ys[i];
      for (let j = 0; j < w; j++) {
        const x = xs[j];
        const gx = t0 * x + t1 * y + t2;
        const gy = t3 * x + t4 * y + t5;
        if (!Number.isFinite(gx) || !Number.isFinite(gy)) continue;
        let ix = ux.scale * gx + ux.offset;
        let iy = uy.scale * gy + uy.offset;
        let sx = ux.scale, sy = uy.scale;
        if (border) {
          // As in PyTorch, a coordinate on or beyond the border counts as clipped: zero gradient.
          if (ix <= 0 || ix >= width - 1) sx = 0;
          if (iy <= 0 || iy >= height - 1) sy = 0;
          ix = Math.min(width - 1, Math.max(ix, 0));
          iy = Math.min(height - 1, Math.max(iy, 0));
        }
        const x0 = Math.floor(ix), y0 = Math.floor(iy);
        const x1 = x0 + 1, y1 = y0 + 1;
        const wx1 = ix - x0, wx0 = x1 - ix, wy1 = iy - y0, wy0 = y1 - iy;
        const inX0 = x0 >= 0 && x0 < width, inX1 = x1 >= 0 && x1 < width;
        const inY0 = y0 >= 0 && y0 < height, inY1 = y1 >= 0 && y1 < height;
        const p00 = base + y0 * rowStride + x0 * c;
        const o = ((r * h + i) * w + j) * c;
        let gix = 0, giy = 0;
        for (let ch = 0; ch < c; ch++) {
          const go = g[o + ch];
          if (inY0 && inX0) {
            const p = p00 + ch, v = img[p];
            dImage[p] += wx0 * wy0 * go;
            gix -= v * wy0 * go;
            giy -= v * wx0 * go;
          }
          if (inY0 && inX1) {
            const p = p00 + c + ch, v = img[p];
            dImage[p] += wx1 * wy0 * go;
            gix += v * wy0 * go;
            giy -= v * wx1 * go;
          }
          if (inY1 && inX0) {
            const p = p00 + rowStride + ch, v = img[p];
            dImage[p] += wx0 * wy1 * go;
            gix -= v * wy1 * go;
            giy += v * wx0 * go;
          }
          if (inY1 && inX1) {
            const p = p00 + rowStride + c + ch, v = img[p];
            dImage[p] += wx1 * wy1 * go;
            gix += v * wy1 * go;
            giy += v * wx1 * go;
          }
        }
        const ggx = gix * sx, ggy = giy * sy;
        d0 += ggx * x;
        d1 += ggx * y;
        d2 += ggx;
        d3 += ggy * x;
        d4 += ggy * y;
        d5 += ggy;
      }
    }
    dTheta[t] = d0;
    dTheta[t + 1] = d1;
    dTheta[t + 2] = d2;
    dTheta[t + 3] = d3;
    dTheta[t + 4] = d4;
    dTheta[t + 5] = d5;
  }
  return [
    cpu.makeTensorInfo([n, height, width, c], "float32", new Float32Array(dImage)),
    cpu.makeTensorInfo([m, 6], "float32", dTheta),
  ];
}

/** The cpu backward kernel (see `spatial_transform_spec.ts`): outputs `[dImage, dTheta]`. */
export const spatialTransformGradCpuConfig: tf.KernelConfig = {
  kernelName: SPATIAL_TRANSFORM_GRAD,
  backendName: "cpu",
  kernelFunc: spatialTransformGradCpu as unknown as tf.KernelFunc,
};

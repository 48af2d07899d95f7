/**
 * The general cpu sampler: any mode (`sample_{bilinear,nearest,bicubic}.ts`), any padding, affine
 * or projective θ, forward and backward, in float64 with each stored result rounded to float32
 * once. The per-pixel geometry is `spatial_transform_spec.ts`'s; the mode supplies the taps.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import type { SampleMode } from "../spatial_transform_spec.ts";
import { bicubicSampler } from "./sample_bicubic.ts";
import { bilinearSampler } from "./sample_bilinear.ts";
import { footprint, type Padding, type Sampler } from "./sample_footprint.ts";
import { nearestSampler } from "./sample_nearest.ts";
import { type CpuBackend, floatValues, type SamplerSetup, samplerSetup } from "./spatial_transform_common.ts";

const SAMPLERS: Record<SampleMode, Sampler> = {
  bilinear: bilinearSampler,
  nearest: nearestSampler,
  bicubic: bicubicSampler,
};

/** The mode's sampler, refusing a name the op would have refused. */
export function samplerOf(mode: SampleMode | undefined): Sampler {
  const s = SAMPLERS[mode ?? "bilinear"];
  if (s === undefined) throw new Error(`spatialTransform (cpu): unknown mode ${JSON.stringify(mode)}`);
  return s;
}

/**
 * Walks every output pixel of θ row `r`, calling `visit(o, ix, iy, x, y, gx, gy, den)` with the
 * pixel's output offset, unpadded pixel coordinates, normalised output coordinates, normalised
 * sampling coordinates and projective denominator (1 for affine). Non-finite points are skipped.
 */
function forEachPoint(
  s: SamplerSetup,
  params: number,
  r: number,
  visit: (
    o: number,
    ix: number,
    iy: number,
    x: number,
    y: number,
    gx: number,
    gy: number,
    den: number,
  ) => void,
): void {
  const { th, xs, ys, ux, uy, h, w, c } = s;
  const t = r * params;
  for (let i = 0; i < h; i++) {
    const y = ys[i];
    for (let j = 0; j < w; j++) {
      const x = xs[j];
      const den = params === 9 ? th[t + 6] * x + th[t + 7] * y + th[t + 8] : 1;
      const gx = (th[t] * x + th[t + 1] * y + th[t + 2]) / den;
      const gy = (th[t + 3] * x + th[t + 4] * y + th[t + 5]) / den;
      // A non-finite denominator counts as non-finite coordinates (as on webgpu), not as gx = 0.
      if (!Number.isFinite(gx) || !Number.isFinite(gy) || !Number.isFinite(den)) continue;
      visit(
        ((r * h + i) * w + j) * c,
        ux.scale * gx + ux.offset,
        uy.scale * gy + uy.offset,
        x,
        y,
        gx,
        gy,
        den,
      );
    }
  }
}

function padding(attrs: unknown): Padding {
  const { paddingMode, alignCorners } = attrs as { paddingMode: Padding["mode"]; alignCorners: boolean };
  return { mode: paddingMode, alignCorners, grad: 1 };
}

/** Forward of any mode: output `[M, h, w, C]`. */
export function sampleForwardCpu(
  cpu: CpuBackend,
  image: tf.TensorInfo,
  theta: tf.TensorInfo,
  attrs: unknown,
): tf.TensorInfo {
  const s = samplerSetup(cpu, image, theta, attrs);
  const sampler = samplerOf((attrs as { mode?: SampleMode }).mode);
  const pad = padding(attrs);
  const f = footprint(sampler.taps);
  const { m, k, h, w, c, height, width, img } = s;
  const params = theta.shape[1];
  const out = new Float32Array(m * h * w * c);
  for (let r = 0; r < m; r++) {
    const base = Math.floor(r / k) * height * width * c;
    forEachPoint(s, params, r, (o, ix, iy) => {
      sampler.fill(ix, iy, width, height, pad, f);
      for (let ch = 0; ch < c; ch++) {
        let v = 0;
        for (let t = 0; t < f.count; t++) {
          if (f.index[t] >= 0) v += f.weight[t] * img[base + f.index[t] * c + ch];
        }
        out[o + ch] = v;
      }
    });
  }
  return cpu.makeTensorInfo([m, h, w, c], "float32", out);
}

/** Backward of any mode: `[∂image [N,H,W,C], ∂θ [M,P]]`, accumulated in float64 in a fixed order. */
export function sampleBackwardCpu(
  cpu: CpuBackend,
  dy: tf.TensorInfo,
  image: tf.TensorInfo,
  theta: tf.TensorInfo,
  attrs: unknown,
): tf.TensorInfo[] {
  const s = samplerSetup(cpu, image, theta, attrs);
  const sampler = samplerOf((attrs as { mode?: SampleMode }).mode);
  const pad = padding(attrs);
  const f = footprint(sampler.taps);
  const { m, k, c, height, width, img, ux, uy } = s;
  const params = theta.shape[1];
  const g = floatValues(cpu, dy, "dy");
  const dImage = new Float64Array(img.length);
  const dTheta = new Float32Array(m * params);
  const acc = new Float64Array(params);
  for (let r = 0; r < m; r++) {
    const base = Math.floor(r / k) * height * width * c;
    acc.fill(0);
    forEachPoint(s, params, r, (o, ix, iy, x, y, gx, gy, den) => {
      sampler.fill(ix, iy, width, height, pad, f);
      let gix = 0, giy = 0;
      for (let t = 0; t < f.count; t++) {
        if (f.index[t] < 0) continue;
        const p = base + f.index[t] * c;
        for (let ch = 0; ch < c; ch++) {
          const go = g[o + ch];
          dImage[p + ch] += f.weight[t] * go;
          gix += f.dx[t] * img[p + ch] * go;
          giy += f.dy[t] * img[p + ch] * go;
        }
      }
      // ∂L/∂gx, ∂L/∂gy; the projective θ also sees the division by den.
      const ggx = gix * ux.scale / den, ggy = giy * uy.scale / den;
      acc[0] += ggx * x;
      acc[1] += ggx * y;
      acc[2] += ggx;
      acc[3] += ggy * x;
      acc[4] += ggy * y;
      acc[5] += ggy;
      if (params === 9) {
        const gd = -(ggx * gx + ggy * gy);
        acc[6] += gd * x;
        acc[7] += gd * y;
        acc[8] += gd;
      }
    });
    for (let q = 0; q < params; q++) dTheta[r * params + q] = acc[q];
  }
  return [
    cpu.makeTensorInfo([...image.shape], "float32", new Float32Array(dImage)),
    cpu.makeTensorInfo([m, params], "float32", dTheta),
  ];
}

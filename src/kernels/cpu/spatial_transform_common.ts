/**
 * Geometry shared by the cpu forward and backward spatial-transform kernels: the normalised output
 * grid and the map from normalised to pixel coordinates, exactly as `spatial_transform_spec.ts`
 * states them. Everything here runs in float64 (JS numbers); only stored results are rounded.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import type { SpatialTransformAttrs } from "../spatial_transform_spec.ts";

/** The slice of tfjs-backend-cpu's `MathBackendCPU` the kernels use. */
export interface CpuBackend {
  data: { get(dataId: tf.DataId): { values?: tf.BackendValues } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.BackendValues): tf.TensorInfo;
}

/** Reads a float32 input of a cpu kernel, refusing anything else (the op already checked dtypes). */
export function floatValues(backend: CpuBackend, info: tf.TensorInfo, name: string): Float32Array {
  const values = backend.data.get(info.dataId).values;
  if (!(values instanceof Float32Array)) {
    throw new Error(`spatialTransform (cpu): ${name} must hold float32 values; got ${info.dtype}`);
  }
  return values;
}

/** Normalised coordinates of the `n` output pixels along one axis (PyTorch's `affine_grid` base). */
export function baseCoords(n: number, alignCorners: boolean): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = alignCorners ? (n > 1 ? -1 + (2 * i) / (n - 1) : 0) : (2 * i + 1) / n - 1;
  }
  return out;
}

/**
 * Maps normalised coordinates to pixel coordinates along an axis of `size` pixels: `scale·g + offset`.
 * `scale` is also d(pixel)/d(normalised), the factor the backward pass needs.
 */
export function unnormalize(size: number, alignCorners: boolean): { scale: number; offset: number } {
  // alignCorners: (g+1)/2·(size-1); otherwise ((g+1)·size - 1)/2.
  return alignCorners
    ? { scale: (size - 1) / 2, offset: (size - 1) / 2 }
    : { scale: size / 2, offset: (size - 1) / 2 };
}

/** The attributes as the kernels receive them, checked once (the op validated them for users). */
export function readAttrs(attrs: unknown): SpatialTransformAttrs {
  const a = attrs as SpatialTransformAttrs;
  if (!(a.outHeight > 0 && a.outWidth > 0)) {
    throw new Error(
      `spatialTransform (cpu): outHeight/outWidth must be > 0; got ${a.outHeight}×${a.outWidth}`,
    );
  }
  return a;
}

/** What both cpu kernels derive from image, θ and the attributes before their pixel loops. */
export interface SamplerSetup {
  /** Output height and width. */
  h: number;
  w: number;
  /** Image batch, height, width, channels. */
  n: number;
  height: number;
  width: number;
  c: number;
  /** θ rows (= output batch) and glimpses per image. */
  m: number;
  k: number;
  img: Float32Array;
  th: Float32Array;
  /** Normalised output grid along x and y. */
  xs: Float64Array;
  ys: Float64Array;
  /** Normalised → pixel maps along x and y. */
  ux: { scale: number; offset: number };
  uy: { scale: number; offset: number };
  border: boolean;
  /** Elements per image row (`width·c`). */
  rowStride: number;
}

/** Checks the attributes and reads image and θ (in that order), then builds the shared geometry. */
export function samplerSetup(
  cpu: CpuBackend,
  image: tf.TensorInfo,
  theta: tf.TensorInfo,
  attrs: unknown,
): SamplerSetup {
  const { outHeight: h, outWidth: w, alignCorners, paddingMode } = readAttrs(attrs);
  const [n, height, width, c] = image.shape;
  const m = theta.shape[0];
  return {
    h,
    w,
    n,
    height,
    width,
    c,
    m,
    k: m / n,
    img: floatValues(cpu, image, "image"),
    th: floatValues(cpu, theta, "theta"),
    xs: baseCoords(w, alignCorners),
    ys: baseCoords(h, alignCorners),
    ux: unnormalize(width, alignCorners),
    uy: unnormalize(height, alignCorners),
    border: paddingMode === "border",
    rowStride: width * c,
  };
}

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

/**
 * wasm forward kernel of {@linkcode SPATIAL_TRANSFORM}: the fused affine grid + bilinear sampler in
 * our Rust module (`wasm/src/spatial_transform.rs`, SIMD128), run on tfjs-backend-wasm's tensors;
 * other modes, reflection padding and projective θ run the module's general sampler
 * (`wasm/src/sample.rs`, one file per mode under `wasm/src/sample/`).
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import { SAMPLE_MODES, SPATIAL_TRANSFORM, type SpatialTransformAttrs } from "../spatial_transform_spec.ts";
import { arena, copyIn, copyOut, type WasmBackendLike } from "./heap.ts";
import { wasmKernels } from "./module.ts";

/** The dimensions both wasm spatial-transform kernels pass to Rust, checked once. */
export interface StGeometry {
  n: number;
  h: number;
  w: number;
  c: number;
  m: number;
  outHeight: number;
  outWidth: number;
  alignCorners: number;
  zeros: number;
  /** θ values per row: 6 (affine) or 9 (projective). */
  params: number;
  /** Whether the SIMD bilinear kernels serve this call (bilinear, affine, zeros or border). */
  fast: boolean;
  /** The general sampler's trailing arguments: align, padding (0 zeros, 1 border, 2 reflection), mode, params. */
  generalArgs: [number, number, number, number];
  /** Elements of the image (and of ∂image). */
  imageLen: number;
  /** Elements of the output (and of dy). */
  outLen: number;
  /** The trailing arguments of both Rust entry points, in their order. */
  args: [number, number, number, number, number, number, number, number, number];
}

/** Checks what the kernels rely on (the op checked it for users) and flattens it for the Rust call. */
export function stGeometry(
  image: tf.TensorInfo,
  theta: tf.TensorInfo,
  attrs: unknown,
  kernel: string,
): StGeometry {
  const { outHeight, outWidth, alignCorners, paddingMode, mode = "bilinear" } =
    attrs as SpatialTransformAttrs;
  for (const [name, t] of [["image", image], ["theta", theta]] as const) {
    if (t.dtype !== "float32") throw new Error(`${kernel} (wasm): ${name} must be float32; got ${t.dtype}`);
  }
  if (image.shape.length !== 4) {
    throw new Error(`${kernel} (wasm): image must be [N,H,W,C]; got [${image.shape}]`);
  }
  const [n, h, w, c] = image.shape;
  const m = theta.shape[0];
  const params = theta.shape[1];
  if (theta.shape.length !== 2 || (params !== 6 && params !== 9) || n === 0 || m % n !== 0) {
    throw new Error(
      `${kernel} (wasm): theta must be [k·N, 6] or [k·N, 9] with N = ${n}; got [${theta.shape}]`,
    );
  }
  if (!(Number.isInteger(outHeight) && outHeight > 0 && Number.isInteger(outWidth) && outWidth > 0)) {
    throw new Error(
      `${kernel} (wasm): outHeight/outWidth must be integers > 0; got ${outHeight}×${outWidth}`,
    );
  }
  // PyTorch's GridSamplerPadding order: zeros, border, reflection.
  const padding = ["zeros", "border", "reflection"].indexOf(paddingMode);
  if (padding < 0) {
    throw new Error(`${kernel} (wasm): unknown paddingMode ${JSON.stringify(paddingMode)}`);
  }
  const modeIndex = SAMPLE_MODES.indexOf(mode);
  if (modeIndex < 0) throw new Error(`${kernel} (wasm): unknown mode ${JSON.stringify(mode)}`);
  const align = alignCorners ? 1 : 0;
  const zeros = paddingMode === "zeros" ? 1 : 0;
  return {
    n,
    h,
    w,
    c,
    m,
    outHeight,
    outWidth,
    alignCorners: align,
    zeros,
    params,
    fast: mode === "bilinear" && params === 6 && paddingMode !== "reflection",
    generalArgs: [align, padding, modeIndex, params],
    imageLen: n * h * w * c,
    outLen: m * outHeight * outWidth * c,
    args: [n, h, w, c, m, outHeight, outWidth, align, zeros],
  };
}

/** Turns a non-zero status of the Rust entry points into an error naming the kernel. */
export function checkStatus(status: number, kernel: string): void {
  if (status !== 0) throw new Error(`${kernel} (wasm): kernel refused shapes (status ${status})`);
}

function spatialTransformWasm(
  { inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown },
): tf.TensorInfo {
  const wasm = backend as WasmBackendLike;
  const { image, theta } = inputs as Record<string, tf.TensorInfo>;
  const g = stGeometry(image, theta, attrs, SPATIAL_TRANSFORM);
  const outShape = [g.m, g.outHeight, g.outWidth, g.c];
  const [imagePtr, thetaPtr, outPtr] = arena([g.imageLen * 4, g.m * g.params * 4, g.outLen * 4]);
  copyIn(wasm, image, imagePtr);
  copyIn(wasm, theta, thetaPtr);
  const kernels = wasmKernels();
  checkStatus(
    g.fast
      ? kernels.rnnspn_spatial_transform(imagePtr, thetaPtr, outPtr, ...g.args)
      : kernels.rnnspn_sample(imagePtr, thetaPtr, outPtr, ...g.args.slice(0, 7), ...g.generalArgs),
    SPATIAL_TRANSFORM,
  );
  return copyOut(wasm, outShape, "float32", outPtr);
}

/** The wasm forward kernel (see `spatial_transform_spec.ts`). */
export const spatialTransformWasmConfig: tf.KernelConfig = {
  kernelName: SPATIAL_TRANSFORM,
  backendName: "wasm",
  kernelFunc: spatialTransformWasm as unknown as tf.KernelFunc,
};

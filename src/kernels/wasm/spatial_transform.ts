/**
 * wasm forward kernel of {@linkcode SPATIAL_TRANSFORM}: the fused affine grid + bilinear sampler in
 * our Rust module (`wasm/src/spatial_transform.rs`, SIMD128), run on tfjs-backend-wasm's tensors.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import { SPATIAL_TRANSFORM, type SpatialTransformAttrs } from "../spatial_transform_spec.ts";
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
  const { outHeight, outWidth, alignCorners, paddingMode } = attrs as SpatialTransformAttrs;
  for (const [name, t] of [["image", image], ["theta", theta]] as const) {
    if (t.dtype !== "float32") throw new Error(`${kernel} (wasm): ${name} must be float32; got ${t.dtype}`);
  }
  if (image.shape.length !== 4) {
    throw new Error(`${kernel} (wasm): image must be [N,H,W,C]; got [${image.shape}]`);
  }
  const [n, h, w, c] = image.shape;
  const m = theta.shape[0];
  if (theta.shape.length !== 2 || theta.shape[1] !== 6 || n === 0 || m % n !== 0) {
    throw new Error(`${kernel} (wasm): theta must be [k·N, 6] with N = ${n}; got [${theta.shape}]`);
  }
  if (!(Number.isInteger(outHeight) && outHeight > 0 && Number.isInteger(outWidth) && outWidth > 0)) {
    throw new Error(
      `${kernel} (wasm): outHeight/outWidth must be integers > 0; got ${outHeight}×${outWidth}`,
    );
  }
  if (paddingMode !== "border" && paddingMode !== "zeros") {
    throw new Error(`${kernel} (wasm): paddingMode must be "border" or "zeros"; got ${paddingMode}`);
  }
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
  const [imagePtr, thetaPtr, outPtr] = arena([g.imageLen * 4, g.m * 24, g.outLen * 4]);
  copyIn(wasm, image, imagePtr);
  copyIn(wasm, theta, thetaPtr);
  checkStatus(
    wasmKernels().rnnspn_spatial_transform(imagePtr, thetaPtr, outPtr, ...g.args),
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

/**
 * wasm backward kernel of {@linkcode SPATIAL_TRANSFORM_GRAD}: ∂image (a sequential, hence
 * deterministic, scatter) and ∂θ (per-line f32 sums added in f64) in one pass of our Rust module;
 * other modes, reflection padding and projective θ run its general sampler (`wasm/src/sample.rs`).
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import { SPATIAL_TRANSFORM_GRAD } from "../spatial_transform_spec.ts";
import { arena, copyIn, copyOut, type WasmBackendLike } from "./heap.ts";
import { wasmKernels } from "./module.ts";
import { checkStatus, stGeometry } from "./spatial_transform.ts";

function spatialTransformGradWasm(
  { inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown },
): tf.TensorInfo[] {
  const wasm = backend as WasmBackendLike;
  const { dy, image, theta } = inputs as Record<string, tf.TensorInfo>;
  const g = stGeometry(image, theta, attrs, SPATIAL_TRANSFORM_GRAD);
  const dyShape = [g.m, g.outHeight, g.outWidth, g.c];
  if (dy.dtype !== "float32" || dy.shape.join() !== dyShape.join()) {
    throw new Error(
      `${SPATIAL_TRANSFORM_GRAD} (wasm): dy must be float32 [${dyShape}]; got ${dy.dtype} [${dy.shape}]`,
    );
  }
  const [dyPtr, imagePtr, thetaPtr, dImagePtr, dThetaPtr] = arena([
    g.outLen * 4,
    g.imageLen * 4,
    g.m * g.params * 4,
    g.imageLen * 4,
    g.m * g.params * 4,
  ]);
  copyIn(wasm, dy, dyPtr);
  copyIn(wasm, image, imagePtr);
  copyIn(wasm, theta, thetaPtr);
  const kernels = wasmKernels();
  const pointers = [dyPtr, imagePtr, thetaPtr, dImagePtr, dThetaPtr] as const;
  checkStatus(
    g.fast
      ? kernels.rnnspn_spatial_transform_grad(...pointers, ...g.args)
      : kernels.rnnspn_sample_grad(...pointers, ...g.args.slice(0, 7), ...g.generalArgs),
    SPATIAL_TRANSFORM_GRAD,
  );
  return [
    copyOut(wasm, [...image.shape], "float32", dImagePtr),
    copyOut(wasm, [g.m, g.params], "float32", dThetaPtr),
  ];
}

/** The wasm backward kernel: outputs `[dImage, dTheta]` (see `spatial_transform_spec.ts`). */
export const spatialTransformGradWasmConfig: tf.KernelConfig = {
  kernelName: SPATIAL_TRANSFORM_GRAD,
  backendName: "wasm",
  kernelFunc: spatialTransformGradWasm as unknown as tf.KernelFunc,
};

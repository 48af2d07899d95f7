/**
 * `RnnspnReluBiasGrad` on the wasm backend: dz = dy · step(y) and the bias gradient in one pass of
 * our Rust kernel on tfjs's heap (`wasm/direct/relu_bias_grad.rs`), where tfjs runs `Step`,
 * `Multiply` and `Sum` — three passes over a convolution's output, the largest tensors of a
 * training step. Where the direct kernels cannot run (threaded tfjs; see `direct.ts`) it runs those
 * three kernels itself: with copies into our module a fused kernel was measured slower than them.
 * Contract in `src/kernels/conv2d_bias_relu_spec.ts`.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { RELU_BIAS_GRAD } from "../conv2d_bias_relu_spec.ts";
import type { WasmBackendLike } from "./heap.ts";
import { directKernels, heapOffset } from "./direct.ts";

type KernelArgs = Parameters<tf.KernelFunc>[0];

function reluBiasGrad({ inputs, backend }: KernelArgs): tf.TensorInfo[] {
  const { dy, y } = inputs as unknown as Record<string, tf.TensorInfo>;
  if (dy.dtype !== "float32" || y.dtype !== "float32") {
    throw new Error(`${RELU_BIAS_GRAD} (wasm): dy and y must be float32; got ${dy.dtype} and ${y.dtype}`);
  }
  const rank = y.shape.length;
  if (rank < 1 || !tf.util.arraysEqual(dy.shape, y.shape)) {
    throw new Error(
      `${RELU_BIAS_GRAD} (wasm): dy and y must have the same shape of rank ≥ 1; got [${dy.shape}] and [${y.shape}]`,
    );
  }
  const wasm = backend as WasmBackendLike;
  const c = y.shape[rank - 1];
  const direct = directKernels(wasm);
  if (direct == null) return unfused(wasm, dy, y);
  const rows = c === 0 ? 0 : tf.util.sizeFromShape(y.shape) / c;
  const dz = wasm.makeOutput([...y.shape], "float32");
  const db = wasm.makeOutput([c], "float32");
  // Scratch: float64 totals first (8-byte aligned), then float32 partials.
  const scratch = wasm.makeOutput([3 * c], "float32");
  const total = heapOffset(wasm, scratch);
  const [g, yv, z, b] = [dy, y, dz, db].map((t) => heapOffset(wasm, t));
  direct.relu_bias_grad_f32(g, yv, z, b, total + 8 * c, total, rows, c);
  wasm.disposeData(scratch.dataId);
  return [dz, db];
}

/** tfjs's own `Step`, `Multiply` and (our) `Sum` kernels, as its unfused gradient runs them. */
function unfused(wasm: WasmBackendLike, dy: tf.TensorInfo, y: tf.TensorInfo): tf.TensorInfo[] {
  const run = (name: string, inputs: Record<string, tf.TensorInfo>, attrs: object = {}) =>
    tf.getKernel(name, "wasm")!.kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      backend: wasm as unknown as tf.KernelBackend,
      attrs: attrs as tf.NamedAttrMap,
    }) as tf.TensorInfo;
  const step = run(tf.Step, { x: y }, { alpha: 0 });
  const dz = run(tf.Multiply, { a: dy, b: step });
  wasm.disposeData(step.dataId);
  const axis = Array.from({ length: y.shape.length - 1 }, (_, i) => i);
  const db = axis.length ? run(tf.Sum, { x: dz }, { axis, keepDims: false }) : run(tf.Identity, { x: dz });
  return [dz, db];
}

/** tfjs `KernelConfig` for `RnnspnReluBiasGrad` on `wasm`. */
export const reluBiasGradWasmConfig: tf.KernelConfig = {
  kernelName: RELU_BIAS_GRAD,
  backendName: "wasm",
  kernelFunc: reluBiasGrad as unknown as tf.KernelFunc,
};

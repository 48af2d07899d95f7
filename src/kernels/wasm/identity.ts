/**
 * `Identity` on the wasm backend without a copy. tfjs's engine clones every tensor a kernel saves
 * for its gradient (`saveTensorsForBackwardMode` → `clone` → `Identity`); tfjs-backend-wasm 4.22's
 * `Identity` copies the data, so a training step memcopies its largest activations once more
 * (66 ms of an RNN-SPN step). Tensors are immutable and wasm kernels never write to their inputs,
 * so, as tfjs's cpu backend and wasm's own `Reshape` do, the clone can share the data buffer and
 * bump its reference count. Strings keep tfjs's kernel.
 *
 * Wraps the kernel tfjs registered: see `WASM_OVERRIDES` in `src/kernels/register.ts`.
 *
 * @module
 */
import type { tf } from "../../tf.ts";

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** An `Identity` kernel for wasm that shares the input's buffer (reference-counted). */
export function fastIdentityConfig(original: tf.KernelConfig): tf.KernelConfig {
  function identityShared(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    if (x.dtype === "string") return original.kernelFunc(args);
    (args.backend as unknown as { incRef(id: tf.DataId): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }
  return { ...original, kernelFunc: identityShared };
}

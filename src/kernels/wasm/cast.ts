/**
 * `Cast` to the tensor's own dtype on the wasm backend without a copy. tfjs's gradients cast their
 * operands to float32 whether or not they already are (e.g. `mul`'s and `relu`'s), and
 * tfjs-backend-wasm 4.22's `Cast` always copies, so a training step memcopies activations for
 * nothing. A same-dtype cast now shares the buffer (reference-counted, as tfjs's cpu backend does);
 * real conversions keep tfjs's kernel.
 *
 * Wraps the kernel tfjs registered: see `WASM_OVERRIDES` in `src/kernels/register.ts`.
 *
 * @module
 */
import type { tf } from "../../tf.ts";

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** A `Cast` kernel for wasm that shares the buffer when the dtype does not change. */
export function fastCastConfig(original: tf.KernelConfig): tf.KernelConfig {
  function castOrShare(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    const { dtype } = args.attrs as unknown as tf.CastAttrs;
    if (x.dtype !== dtype || dtype === "string") return original.kernelFunc(args);
    (args.backend as unknown as { incRef(id: tf.DataId): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype };
  }
  return { ...original, kernelFunc: castOrShare };
}

/**
 * `Conv2DBackpropInput` (∂x of a convolution) on the wasm backend as a forward convolution:
 * tfjs-backend-wasm 4.22 computes it with a scalar loop (~1.5 GFLOP/s), while its `Conv2D` runs
 * on XNNPACK. For stride 1, dilation 1, NHWC, ∂x is the "full" convolution of dy (padded by
 * kernel − 1 − pad on each side) with the filter rotated 180° and its in/out channels swapped:
 * `∂x[b,i,j,c] = Σ dy[b,i+p−u,j+q−v,o] · W[u,v,c,o]`. Other strides/paddings keep tfjs's kernel.
 *
 * Wraps the kernel tfjs registered (its `setupFunc` stays), so it must be registered in place of
 * it: see `REPLACEMENTS` in `src/kernels/register.ts`.
 *
 * @module
 */
import { tf } from "../../tf.ts";

type KernelArgs = Parameters<tf.KernelFunc>[0];

function isOne(v: number | [number, number] | undefined): boolean {
  return v === undefined || v === 1 || (Array.isArray(v) && v[0] === 1 && v[1] === 1);
}

/** A `Conv2DBackpropInput` kernel for wasm that uses XNNPACK's convolution where it can. */
export function fastConv2DBackpropInputConfig(original: tf.KernelConfig): tf.KernelConfig {
  function conv2dBackpropInputViaConv2D(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
    const { inputs, backend, attrs } = args;
    const { strides, pad, dataFormat, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const { dy, filter } = inputs as unknown as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const [kh, kw] = filter.shape;
    const padding = pad === "valid" ? 0 : typeof pad === "number" ? pad : -1;
    if (
      !isOne(strides) || (dataFormat !== undefined && dataFormat !== "NHWC") || padding < 0 ||
      kh !== kw || padding > kh - 1 || dy.dtype !== "float32" || filter.dtype !== "float32"
    ) {
      return original.kernelFunc(args);
    }
    const get = (name: string) => tf.getKernel(name, "wasm")!.kernelFunc;
    const wasm = backend as { disposeData(id: tf.DataId): void };
    const flipped = get("Reverse")({
      inputs: { x: filter },
      backend,
      attrs: { dims: [0, 1] },
    }) as tf.TensorInfo;
    const swapped = get("Transpose")({
      inputs: { x: flipped },
      backend,
      attrs: { perm: [0, 1, 3, 2] },
    }) as tf.TensorInfo;
    wasm.disposeData(flipped.dataId);
    try {
      const out = get("Conv2D")({
        inputs: { x: dy, filter: swapped },
        backend,
        attrs: { strides: 1, pad: kh - 1 - padding, dataFormat: "NHWC", dilations: 1 },
      }) as tf.TensorInfo;
      const [b, h, w, c] = out.shape;
      if (b !== inputShape[0] || h !== inputShape[1] || w !== inputShape[2] || c !== inputShape[3]) {
        wasm.disposeData(out.dataId);
        return original.kernelFunc(args);
      }
      return out;
    } finally {
      wasm.disposeData(swapped.dataId);
    }
  }
  return { ...original, kernelFunc: conv2dBackpropInputViaConv2D };
}

/**
 * tfjs-backend-wasm's own `Conv2DBackpropInput`, wrapped by {@linkcode fastConv2DBackpropInputConfig}
 * (tfjs registers its kernels when `src/tf.ts` imports the backend, so the original exists here).
 */
export const conv2dBackpropInputConfig: tf.KernelConfig = fastConv2DBackpropInputConfig(
  tf.getKernel("Conv2DBackpropInput", "wasm")!,
);

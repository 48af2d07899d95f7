/**
 * `FastConv2D`: tfjs-layers' `Conv2D`, whose ReLU-with-bias case trains through
 * {@linkcode conv2dBiasRelu} (one fused forward kernel, one fused pass before the convolution
 * gradients) instead of tfjs's unfused `Conv2D` → `Add` → `Relu` under gradient recording.
 *
 * It *is* a `Conv2D`: same constructor arguments, weights (names, shapes, order), config and
 * serialization class name, so saved models are unchanged. Importing this module registers it as
 * the class behind `"Conv2D"` in tfjs's serialization map, so models loaded with
 * `tf.loadLayersModel` — ours and any other — get the fast path too; its values and gradients are
 * those of the layer it replaces.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { conv2dBiasRelu, hasConv2dBiasRelu } from "../ops/conv2d_bias_relu.ts";

type ConvLayerArgs = Parameters<typeof tf.layers.conv2d>[0];
type Conv2DLayer = ReturnType<typeof tf.layers.conv2d>;

// tfjs-layers does not export its layer classes, only factories; its serialization map holds them
// (creating a layer through the factory instead would consume an auto-generated layer name).
const registered = tf.serialization.SerializationMap.getMap().classNameMap["Conv2D"];
if (!registered) {
  throw new Error("FastConv2D: tfjs-layers' Conv2D is not registered (tfjs-layers not loaded?)");
}
const Conv2DBase = registered[0] as unknown as new (args: ConvLayerArgs) => Conv2DLayer;

/** The `Conv2D` fields `call` reads (protected in tfjs-layers' typings). */
interface ConvFields {
  rank: number;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
  activation: { getClassName(): string } | null;
  kernel: { read(): tf.Tensor } | null;
  bias: { read(): tf.Tensor } | null;
}

/**
 * tfjs-layers' `Conv2D` with a fused ReLU + bias path: `activation: "relu"` with a bias, channels
 * last, dilation 1 and a float32 rank-4 input run {@linkcode conv2dBiasRelu}; every other case is
 * `Conv2D`'s own `call`.
 */
export class FastConv2D extends Conv2DBase {
  /** tfjs serialization name: that of the class it stands in for. */
  static className = "Conv2D";

  /** `Conv2D.call`, through {@linkcode conv2dBiasRelu} where it applies. */
  override call(
    inputs: tf.Tensor | tf.Tensor[],
    kwargs: tf.serialization.ConfigDict,
  ): tf.Tensor | tf.Tensor[] {
    const f = this as unknown as ConvFields;
    const x = Array.isArray(inputs) && inputs.length === 1 ? inputs[0] : inputs;
    const fusable = x instanceof tf.Tensor && x.rank === 4 && x.dtype === "float32" && f.rank === 2 &&
      f.activation?.getClassName() === "relu" && f.bias != null && f.kernel != null &&
      f.dataFormat === "channelsLast" && (f.padding === "valid" || f.padding === "same") &&
      f.dilationRate.every((d) => d === 1) && hasConv2dBiasRelu();
    if (!fusable) return super.call(inputs, kwargs);
    return conv2dBiasRelu(
      x as tf.Tensor4D,
      f.kernel!.read() as tf.Tensor4D,
      f.bias!.read() as tf.Tensor1D,
      { strides: [f.strides[0], f.strides[1]], pad: f.padding as "valid" | "same" },
    );
  }
}

tf.serialization.registerClass(
  FastConv2D as unknown as tf.serialization.SerializableConstructor<
    tf.serialization.Serializable
  >,
);

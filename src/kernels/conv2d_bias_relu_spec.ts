/**
 * The contract of the fused ReLU convolution's kernel (see `src/ops/conv2d_bias_relu.ts`).
 *
 * Forward `RnnspnConv2DBiasRelu`, inputs `{ x: [B,H,W,Cin] f32, filter: [kh,kw,Cin,Cout] f32,
 * bias: [Cout] f32 }`, attrs {@linkcode Conv2dBiasReluAttrs}; output `relu(conv2d(x, filter) + bias)`
 * `[B,outH,outW,Cout]` f32 (NHWC, dilation 1). Every backend runs it as its own tfjs `FusedConv2D`
 * kernel with `activation: "relu"`, looked up at call time (so overrides of `FusedConv2D` apply).
 *
 * Its gradient (registered in `src/ops/conv2d_bias_relu.ts`) is tfjs's unfused one: dz = dy · step(y)
 * (y > 0 ⇔ z > 0, since y = relu(z)), db = Σ dz over B, H, W, then `Conv2DBackpropInput` and
 * `Conv2DBackpropFilter` on dz.
 *
 * @module
 */

/** Forward kernel name. */
export const CONV2D_BIAS_RELU = "RnnspnConv2DBiasRelu";

/** Attributes of `RnnspnConv2DBiasRelu`. */
export interface Conv2dBiasReluAttrs {
  /** `[strideHeight, strideWidth]`, positive integers. */
  strides: [number, number];
  /** tfjs's padding mode. */
  pad: "valid" | "same";
}

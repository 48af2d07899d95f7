/**
 * The contract of the fused ReLU convolution's kernels (see `src/ops/conv2d_bias_relu.ts`).
 *
 * Forward `RnnspnConv2DBiasRelu`, inputs `{ x: [B,H,W,Cin] f32, filter: [kh,kw,Cin,Cout] f32,
 * bias: [Cout] f32 }`, attrs {@linkcode Conv2dBiasReluAttrs}; output `relu(conv2d(x, filter) + bias)`
 * `[B,outH,outW,Cout]` f32 (NHWC, dilation 1). Every backend runs it as its own tfjs `FusedConv2D`
 * kernel with `activation: "relu"`, looked up at call time (so overrides of `FusedConv2D` apply).
 *
 * Its gradient (registered in `src/ops/conv2d_bias_relu.ts`) is tfjs's unfused one: dz = dy · step(y)
 * (y > 0 ⇔ z > 0, since y = relu(z)), db = Σ dz over B, H, W, then `Conv2DBackpropInput` and
 * `Conv2DBackpropFilter` on dz. A backend may compute dz and db in one kernel,
 * `RnnspnReluBiasGrad`: inputs `{ dy, y }`, both f32 of the same shape `[..., C]` (rank ≥ 1);
 * outputs `[dz, db]` with `dz = dy · step(y)` elementwise — tfjs's `Step`: 1 where y > 0, 0
 * elsewhere, NaN where y is NaN — and `db` `[C]` the sum of dz over all leading axes, accumulated
 * at least as accurately as tfjs's float32 `Sum`. Backends without it run tfjs's `Step`,
 * `Multiply` and `Sum`.
 *
 * @module
 */

/** Forward kernel name. */
export const CONV2D_BIAS_RELU = "RnnspnConv2DBiasRelu";
/** Optional backward helper kernel name (outputs `[dz, db]`). */
export const RELU_BIAS_GRAD = "RnnspnReluBiasGrad";

/** Attributes of `RnnspnConv2DBiasRelu`. */
export interface Conv2dBiasReluAttrs {
  /** `[strideHeight, strideWidth]`, positive integers. */
  strides: [number, number];
  /** tfjs's padding mode. */
  pad: "valid" | "same";
}

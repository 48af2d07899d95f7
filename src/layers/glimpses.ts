/**
 * `Glimpses`: k affine glimpses per image in one call of {@linkcode spatialTransform}, as a
 * serializable Keras-style layer. Inputs `[image [B, H, W, C], theta [B, k, 6]]` (or `[B, 6]` for
 * k = 1); output `[B·k, h, w, C]`, row `b·k + s` being glimpse `s` of image `b`.
 *
 * The generic `SpatialTransformer` layer keeps one θ row per batch row, which a Keras graph needs for
 * its shape bookkeeping; this layer owns the `[B, k] → B·k` step, so the recurrent model never tiles
 * the image k times and its classifier runs on all glimpses as one batch.
 *
 * @module
 */
import { tf } from "../tf.ts";
import {
  type PaddingMode,
  resolveSpatialTransformAttrs,
  spatialTransform,
  type SpatialTransformOptions,
} from "../ops/spatial_transform.ts";

/** Config of {@linkcode Glimpses}. */
export interface GlimpsesArgs {
  /** Downsampling of the glimpse relative to the image (the paper's 3: 100 → 33). Default 1. */
  downsampleFactor?: number;
  /** Explicit glimpse size `[h, w]`; takes precedence over `downsampleFactor`. */
  outputSize?: [number, number];
  /** PyTorch's `align_corners` (default `true`). */
  alignCorners?: boolean;
  /** `"border"` (default) or `"zeros"`. */
  paddingMode?: PaddingMode;
  /** Layer name. */
  name?: string;
}

/** k glimpses per image through {@linkcode spatialTransform}; see the module doc. */
export class Glimpses extends tf.layers.Layer {
  /** tfjs serialization name. */
  static className = "RnnspnGlimpses";
  /** Sampler options. */
  readonly options: SpatialTransformOptions;

  constructor(args: GlimpsesArgs = {}) {
    super({ name: args.name });
    const { downsampleFactor, outputSize, alignCorners, paddingMode } = args;
    this.options = { downsampleFactor, outputSize, alignCorners, paddingMode };
    // Fail at construction, not at first call, on bad options (the 1×1 probe only checks them).
    resolveSpatialTransformAttrs(1 << 20, 1 << 20, this.options, "Glimpses");
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [image, theta] = inputShape as tf.Shape[];
    if (!Array.isArray(image) || image.length !== 4 || !Array.isArray(theta)) {
      throw new Error(
        `Glimpses: inputs must be [image [B,H,W,C], theta [B,k,6]]; got ${JSON.stringify(inputShape)}`,
      );
    }
    const [batch, height, width, channels] = image;
    const { outHeight, outWidth } = resolveSpatialTransformAttrs(height!, width!, this.options, "Glimpses");
    const k = theta.length === 3 ? theta[1] : 1;
    return [batch == null || k == null ? null : batch * k, outHeight, outWidth, channels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [image, theta] = inputs as tf.Tensor[];
    return tf.tidy(() => {
      const rows = theta.rank === 3 ? tf.reshape(theta, [theta.shape[0] * theta.shape[1]!, 6]) : theta;
      return spatialTransform(image as tf.Tensor4D, rows as tf.Tensor2D, this.options);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig() };
    for (const [key, value] of Object.entries(this.options)) {
      if (value !== undefined) config[key] = value as tf.serialization.ConfigDictValue;
    }
    return config;
  }
}

tf.serialization.registerClass(Glimpses);

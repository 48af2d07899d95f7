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
import { splitLayerArgs } from "./layer_args.ts";
import {
  resolveSpatialTransformAttrs,
  spatialTransform,
  type SpatialTransformOptions,
} from "../ops/spatial_transform.ts";

/**
 * Config of {@linkcode Glimpses}: the sampler's options (passed on to {@linkcode spatialTransform} as
 * given) and a layer name.
 *
 * @example
 * ```ts
 * import { Glimpses, type GlimpsesArgs } from "@rnnspn/core";
 * const args: GlimpsesArgs = { downsampleFactor: 3, name: "glimpses" }; // 100×100 → 33×33
 * const layer = new Glimpses(args);
 * ```
 */
export interface GlimpsesArgs extends SpatialTransformOptions {
  /** Layer name. */
  name?: string;
}

/**
 * k glimpses per image through {@linkcode spatialTransform}: `[image [B, H, W, C], theta [B, k, 6]]`
 * (or `[B, 6]` for k = 1) → `[B·k, h, w, C]`, row `b·k + s` being glimpse `s` of image `b`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Glimpses } from "@rnnspn/core";
 * const image = tf.input({ shape: [100, 100, 1] });
 * const theta = tf.input({ shape: [3, 6] }); // three glimpses per image
 * const glimpses = new Glimpses({ downsampleFactor: 3 }).apply([image, theta]) as tf.SymbolicTensor;
 * console.log(glimpses.shape); // [null, 33, 33, 1]: B·3 rows once B is known
 * ```
 */
export class Glimpses extends tf.layers.Layer {
  /** tfjs serialization name. */
  static className = "RnnspnGlimpses";
  /** Sampler options. */
  readonly options: SpatialTransformOptions;

  /**
   * Creates the layer; throws an `Error` naming the option when an option is invalid.
   *
   * @param args the sampler's options and an optional layer name.
   */
  constructor(args: GlimpsesArgs = {}) {
    const { layerArgs, options } = splitLayerArgs(args);
    super(layerArgs);
    this.options = options as SpatialTransformOptions;
    // Fail at construction, not at first call, on bad options (the 1×1 probe only checks them).
    resolveSpatialTransformAttrs(1 << 20, 1 << 20, this.options, "Glimpses");
  }

  /** `[[B, H, W, C], [B, k, 6]]` → `[B·k, h, w, C]`. */
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

  /** Runs {@linkcode spatialTransform} on the image and its `B·k` rows of θ. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [image, theta] = inputs as tf.Tensor[];
    return tf.tidy(() => {
      // [B, k, 6 | 9] → [B·k, 6 | 9].
      const rows = theta.rank === 3
        ? tf.reshape(theta, [theta.shape[0] * theta.shape[1]!, theta.shape[2]!])
        : theta;
      return spatialTransform(image as tf.Tensor4D, rows as tf.Tensor2D, this.options);
    });
  }

  /** The layer's name and the sampler's options (only those that were given). */
  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig() };
    for (const [key, value] of Object.entries(this.options)) {
      if (value !== undefined) config[key] = value as tf.serialization.ConfigDictValue;
    }
    return config;
  }
}

tf.serialization.registerClass(Glimpses);

/**
 * `SpatialTransformer`: {@linkcode spatialTransform} as a serializable `tf.layers.Layer` taking
 * `[image, theta]`, so a LayersModel that contains it saves and reloads in the standard format.
 *
 * @module
 */
import { tf } from "../tf.ts";
import {
  checkSpatialTransformOptions,
  type PaddingMode,
  resolveSpatialTransformAttrs,
  spatialTransform,
  type SpatialTransformOptions,
} from "../ops/spatial_transform.ts";

/**
 * Config of {@linkcode SpatialTransformer}: the sampler's options plus a layer name.
 *
 * @example
 * ```ts
 * import { SpatialTransformer, type SpatialTransformerArgs } from "@rnnspn/core";
 * const args: SpatialTransformerArgs = { name: "glimpse", outputSize: [33, 33], paddingMode: "zeros" };
 * const layer = new SpatialTransformer(args);
 * console.log(layer.name, layer.options); // "glimpse" { outputSize: [33, 33], paddingMode: "zeros" }
 * ```
 */
export interface SpatialTransformerArgs extends SpatialTransformOptions {
  /** Layer name (unique in a model; tfjs makes one up when absent). */
  name?: string;
}

const CALLER = "SpatialTransformer";

/**
 * A layer that samples its first input, images `[N, H, W, C]`, through the affine maps of its
 * second, θ `[M, 6]` or `[M, 2, 3]` with `M = k·N`: the output is `[M, h, w, C]` as for
 * {@linkcode spatialTransform}, with the same options and defaults (`alignCorners: true`,
 * `paddingMode: "border"`, size from `outputSize` or `downsampleFactor`). It has no weights;
 * gradients flow to both inputs, so a localisation network that predicts θ trains through it.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { SpatialTransformer } from "@rnnspn/core";
 * const image = tf.input({ shape: [100, 100, 1] });
 * const features = tf.layers.flatten().apply(image) as tf.SymbolicTensor;
 * const theta = tf.layers.dense({ units: 6 }).apply(features) as tf.SymbolicTensor;
 * const glimpse = new SpatialTransformer({ downsampleFactor: 3 }).apply([image, theta]);
 * const model = tf.model({ inputs: image, outputs: glimpse as tf.SymbolicTensor }); // → [B, 33, 33, 1]
 * ```
 */
export class SpatialTransformer extends tf.layers.Layer {
  /** tfjs serialization name. */
  static className = "RnnspnSpatialTransformer";
  /** The sampler's options, as given (defaults are applied by {@linkcode spatialTransform}). */
  readonly options: SpatialTransformOptions;

  /**
   * Creates the layer; throws an `Error` naming the option when an option is invalid.
   *
   * @param args the sampler's options and an optional layer name.
   */
  constructor(args: SpatialTransformerArgs = {}) {
    const { outputSize, downsampleFactor, alignCorners, paddingMode, ...layerArgs } = args ?? {};
    super(layerArgs);
    // A reloaded config may carry null for an option that was absent: treat it as absent.
    const options: SpatialTransformOptions = {};
    if (outputSize != null) options.outputSize = outputSize;
    if (downsampleFactor != null) options.downsampleFactor = downsampleFactor;
    if (alignCorners != null) options.alignCorners = alignCorners;
    if (paddingMode != null) options.paddingMode = paddingMode as PaddingMode;
    checkSpatialTransformOptions(options, CALLER);
    if (options.outputSize) options.outputSize = [options.outputSize[0], options.outputSize[1]];
    this.options = options;
  }

  /** `[[N, H, W, C], [M, 6] | [M, 2, 3]]` → `[M, h, w, C]`. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    if (!Array.isArray(inputShape[0]) || inputShape.length !== 2) {
      throw new Error(
        `${CALLER}: expects two inputs [image, theta]; got input shape ${JSON.stringify(inputShape)}`,
      );
    }
    const [imageShape, thetaShape] = inputShape as tf.Shape[];
    if (imageShape.length !== 4) {
      throw new Error(`${CALLER}: image must be [N, H, W, C]; got shape ${JSON.stringify(imageShape)}`);
    }
    const [, height, width, channels] = imageShape;
    let size: [number, number];
    if (this.options.outputSize) {
      size = this.options.outputSize;
    } else if (height == null || width == null) {
      throw new Error(
        `${CALLER}: an image of unknown height or width (shape ${
          JSON.stringify(imageShape)
        }) needs options.outputSize`,
      );
    } else {
      const attrs = resolveSpatialTransformAttrs(height, width, this.options, CALLER);
      size = [attrs.outHeight, attrs.outWidth];
    }
    return [thetaShape[0], size[0], size[1], channels];
  }

  /** Runs {@linkcode spatialTransform} on `[image, theta]`. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (!Array.isArray(inputs) || inputs.length !== 2) {
      throw new Error(
        `${CALLER}: expects two inputs [image, theta]; got ${Array.isArray(inputs) ? inputs.length : 1}`,
      );
    }
    const [image, theta] = inputs;
    return spatialTransform(image as tf.Tensor4D, theta as tf.Tensor2D, { ...this.options });
  }

  /** The layer's config: its name and the sampler's options (only those that were given). */
  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig() };
    const { outputSize, downsampleFactor, alignCorners, paddingMode } = this.options;
    if (outputSize !== undefined) config.outputSize = [...outputSize];
    if (downsampleFactor !== undefined) config.downsampleFactor = downsampleFactor;
    if (alignCorners !== undefined) config.alignCorners = alignCorners;
    if (paddingMode !== undefined) config.paddingMode = paddingMode;
    return config;
  }
}

tf.serialization.registerClass(SpatialTransformer);

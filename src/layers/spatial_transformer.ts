/**
 * `SpatialTransformer`: {@linkcode spatialTransform} as a serializable `tf.layers.Layer`. Either it
 * takes `[image, theta]` (θ from anywhere in a functional model), or it owns its localisation network
 * and takes the image alone, so a whole spatial transformer network is one layer of a `tf.sequential`.
 *
 * @module
 */
import { tf } from "../tf.ts";
import {
  checkSpatialTransformOptions,
  resolveSpatialTransformAttrs,
  spatialTransform,
  type SpatialTransformOptions,
} from "../ops/spatial_transform.ts";
import { splitLayerArgs } from "./layer_args.ts";
import { checkImageShape, checkThetaShape } from "./shapes.ts";

/**
 * A localisation network: a `tf.LayersModel` (a `tf.sequential` or a functional `tf.model`) that maps
 * the image `[N, H, W, C]` to θ `[N, 6]`, `[N, 2, 3]`, `[N, 9]` or `[N, 3, 3]`; or the layers of one
 * (a layer or a list), which the transformer stacks into a `tf.sequential` on the image's shape.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { identityAffine, type Localization } from "@rnnspn/core";
 * const localization: Localization = [
 *   tf.layers.flatten(),
 *   tf.layers.dense({ units: 32, activation: "relu" }),
 *   tf.layers.dense({ units: 6, kernelInitializer: "zeros", biasInitializer: identityAffine() }),
 * ];
 * ```
 */
export type Localization = tf.LayersModel | tf.layers.Layer | tf.layers.Layer[];

/**
 * Config of {@linkcode SpatialTransformer}: the sampler's options (passed on to
 * {@linkcode spatialTransform} as given), an optional localisation network, and the usual layer
 * arguments.
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
  /**
   * The network that predicts θ from the image. With it the layer takes one input, the image;
   * without it, two: `[image, theta]`.
   */
  localization?: Localization;
  /** Layer name (unique in a model; tfjs makes one up when absent). */
  name?: string;
  /** Input shape without the batch, `[H, W, C]`, when this is the first layer of a `tf.sequential`. */
  inputShape?: tf.Shape;
  /** Input shape with the batch, `[N, H, W, C]` (N may be null); overrides `inputShape`. */
  batchInputShape?: tf.Shape;
  /** Whether the localisation network's weights train (default true). */
  trainable?: boolean;
}

const CALLER = "SpatialTransformer";
/** A saved localisation network (`{ className, config }`) turned back into a model. */
function deserializeLocalization(value: unknown, customObjects = {}): tf.LayersModel {
  const saved = value as { className?: unknown; config?: unknown } | null;
  const entry = typeof saved?.className === "string"
    ? tf.serialization.SerializationMap.getMap().classNameMap[saved.className]
    : undefined;
  if (!entry || saved?.config == null) {
    throw new Error(
      `${CALLER}: config.localization must be a saved LayersModel ({ className, config }); got ${
        JSON.stringify(value)?.slice(0, 120)
      }`,
    );
  }
  // tfjs's model classes take the custom objects as a third argument, which FromConfigMethod omits.
  const [cls, fromConfig] = entry as unknown as [
    tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
    (cls: unknown, config: tf.serialization.ConfigDict, customObjects: unknown) => unknown,
  ];
  const model = fromConfig(cls, saved.config as tf.serialization.ConfigDict, customObjects);
  if (!(model instanceof tf.LayersModel)) {
    throw new Error(`${CALLER}: config.localization is a ${saved.className}, not a LayersModel`);
  }
  return model;
}

/**
 * A spatial transformer (Jaderberg et al., 2015) as a layer: it samples images `[N, H, W, C]` through
 * the affine (or projective) maps θ — `[M, 6]` / `[M, 2, 3]` (or `[M, 9]` / `[M, 3, 3]`) with
 * `M = k·N` — and outputs `[M, h, w, C]` as {@linkcode spatialTransform} does, with the same options
 * and defaults (`alignCorners: true`, `paddingMode: "border"`, size from `outputSize` or
 * `downsampleFactor`).
 *
 * - Without `localization` it takes `[image, theta]` and has no weights; gradients flow to both.
 * - With `localization` it takes the image alone, predicts θ with that network, and its weights are
 *   the network's: it works in a `tf.sequential`, trains with `fit`, and saves and reloads (the
 *   network travels inside the layer's config).
 *
 * Shapes are checked when the layer is built: θ's last dimension must be 6 or 9 (or its last two
 * 2×3 or 3×3), and an image that looks NCHW (C > H or C > W, with H ≤ 4) is refused, since the
 * layer reads NHWC.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { identityAffine, SpatialTransformer } from "@rnnspn/core";
 * // Jaderberg's STN in a tf.sequential: localisation net → 2×3 θ → 30×30 crop → classifier.
 * const model = tf.sequential({
 *   layers: [
 *     new SpatialTransformer({
 *       inputShape: [60, 60, 1],
 *       outputSize: [30, 30],
 *       localization: [
 *         tf.layers.maxPooling2d({ poolSize: 2 }),
 *         tf.layers.flatten(),
 *         tf.layers.dense({ units: 32, activation: "relu" }),
 *         tf.layers.dense({ units: 6, kernelInitializer: "zeros", biasInitializer: identityAffine() }),
 *       ],
 *     }),
 *     tf.layers.flatten(),
 *     tf.layers.dense({ units: 10, activation: "softmax" }),
 *   ],
 * });
 * model.compile({ optimizer: "adam", loss: "sparseCategoricalCrossentropy" });
 * ```
 */
export class SpatialTransformer extends tf.layers.Layer {
  /** tfjs serialization name. */
  static className = "RnnspnSpatialTransformer";
  /** The sampler's options, as given (defaults are applied by {@linkcode spatialTransform}). */
  readonly options: SpatialTransformOptions;
  /** The localisation network once built (a model given as such is built already); else undefined. */
  localization?: tf.LayersModel;
  /** Layers given as the localisation network, stacked on the image's shape when the layer is first applied. */
  #pending?: tf.layers.Layer[];

  /**
   * Creates the layer; throws an `Error` naming the option when an option is invalid.
   *
   * @param args the sampler's options, an optional localisation network and the layer arguments.
   */
  constructor(args: SpatialTransformerArgs = {}) {
    const { layerArgs, options, own } = splitLayerArgs(args, ["localization", "customObjects"]);
    const { localization, customObjects } = own as { localization?: unknown; customObjects?: object };
    super(layerArgs);
    checkSpatialTransformOptions(options as SpatialTransformOptions, CALLER);
    const size = options.outputSize as number[] | undefined;
    if (size) options.outputSize = [size[0], size[1]];
    this.options = options as SpatialTransformOptions;
    if (localization == null) return;
    if (localization instanceof tf.LayersModel) this.localization = localization;
    else if (localization instanceof tf.layers.Layer) this.#pending = [localization];
    else if (
      Array.isArray(localization) && localization.length > 0 &&
      localization.every((l) => l instanceof tf.layers.Layer)
    ) {
      this.#pending = [...localization];
    } else if (typeof localization === "object" && "className" in localization) {
      this.localization = deserializeLocalization(localization, customObjects);
    } else {
      throw new Error(
        `${CALLER}: localization must be a tf.LayersModel, a layer or a non-empty list of layers; got ${
          Array.isArray(localization) ? `a list of ${localization.length}` : typeof localization
        }`,
      );
    }
    if (this.localization) this.#checkLocalization(this.localization);
  }

  /** Whether the layer predicts θ itself (one input) rather than taking it (two inputs). */
  get ownsLocalization(): boolean {
    return this.localization !== undefined || this.#pending !== undefined;
  }

  /** A localisation network must map one input to one output. */
  #checkLocalization(model: tf.LayersModel): void {
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new Error(
        `${CALLER}: the localization model must have one input (the image) and one output (θ); ` +
          `it has ${model.inputs.length} and ${model.outputs.length}`,
      );
    }
  }

  /**
   * Stacks layers given as the localisation network on the image's shape, before the layer's own
   * build: outside its name scope, so that the weights get the same names as when the saved network
   * is rebuilt from its config on load.
   */
  override apply(
    inputs: tf.Tensor | tf.Tensor[] | tf.SymbolicTensor | tf.SymbolicTensor[],
    kwargs?: Record<string, unknown>,
  ): tf.Tensor | tf.Tensor[] | tf.SymbolicTensor | tf.SymbolicTensor[] {
    if (this.#pending && !Array.isArray(inputs)) {
      const shape = checkImageShape(inputs.shape, CALLER);
      const model = tf.sequential({ name: `${this.name}_localization` });
      model.add(tf.layers.inputLayer({ batchInputShape: [null, ...shape.slice(1)] }));
      for (const layer of this.#pending) model.add(layer);
      this.#checkLocalization(model);
      this.localization = model;
      this.#pending = undefined;
    }
    return super.apply(inputs, kwargs);
  }

  /** Checks the shapes of the image and θ (see the class doc). */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [image, theta] = this.#shapes(inputShape);
    checkImageShape(image, CALLER);
    const expects = this.localization?.inputs[0].shape;
    if (expects && expects.some((d, i) => i > 0 && d != null && image[i] != null && d !== image[i])) {
      throw new Error(
        `${CALLER}: the localization network takes images of shape ${JSON.stringify(expects)}; ` +
          `this layer's input has shape ${JSON.stringify(image)}`,
      );
    }
    checkThetaShape(theta, CALLER);
    this.built = true;
  }

  /** The image's and θ's shapes from the input shape(s). */
  #shapes(inputShape: tf.Shape | tf.Shape[]): [tf.Shape, tf.Shape] {
    const two = Array.isArray(inputShape[0]);
    if (this.ownsLocalization) {
      if (two) {
        throw new Error(
          `${CALLER}: with a localization network the layer takes one input, the image; got input shapes ${
            JSON.stringify(inputShape)
          }`,
        );
      }
      const image = inputShape as tf.Shape;
      const theta = this.localization ? this.localization.outputs[0].shape : [image[0], 6]; // layers not stacked yet: only computeOutputShape asks, and it needs M = N.
      return [image, theta];
    }
    if (!two || inputShape.length !== 2) {
      throw new Error(
        `${CALLER}: expects two inputs [image, theta] (or a localization network); got input shape ${
          JSON.stringify(inputShape)
        }`,
      );
    }
    return inputShape as [tf.Shape, tf.Shape];
  }

  /** `[N, H, W, C]` (and θ `[M, …]`) → `[M, h, w, C]`; with a localization network M = N. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [imageShape, thetaShape] = this.#shapes(inputShape);
    const [, height, width, channels] = checkImageShape(imageShape, CALLER);
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
    const rows = this.ownsLocalization ? imageShape[0] : thetaShape[0];
    return [rows, size[0], size[1], channels];
  }

  /** Runs {@linkcode spatialTransform} on `[image, theta]`, or on the image and its predicted θ. */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs?: Record<string, unknown>): tf.Tensor {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (this.localization) {
      if (list.length !== 1) {
        throw new Error(
          `${CALLER}: with a localization network the layer takes one input; got ${list.length}`,
        );
      }
      return tf.tidy(() => {
        const theta = this.localization!.apply(list[0], kwargs) as tf.Tensor;
        return spatialTransform(list[0] as tf.Tensor4D, theta as tf.Tensor2D, { ...this.options });
      });
    }
    if (list.length !== 2) {
      throw new Error(`${CALLER}: expects two inputs [image, theta]; got ${list.length}`);
    }
    const [image, theta] = list;
    return spatialTransform(image as tf.Tensor4D, theta as tf.Tensor2D, { ...this.options });
  }

  /** The localisation network's trainable weights (none without one). */
  override get trainableWeights(): tf.LayerVariable[] {
    return this.localization && this.trainable ? this.localization.trainableWeights : [];
  }

  override set trainableWeights(_weights: tf.LayerVariable[]) {
    // The base constructor assigns an empty list; the weights are the localisation network's.
  }

  /** The localisation network's non-trainable weights (all of them while the layer is frozen). */
  override get nonTrainableWeights(): tf.LayerVariable[] {
    if (!this.localization) return [];
    return this.trainable ? this.localization.nonTrainableWeights : this.localization.weights;
  }

  override set nonTrainableWeights(_weights: tf.LayerVariable[]) {
    // As for trainableWeights.
  }

  /** Disposes the localisation network when the layer's last use is disposed (its weights are the net's). */
  protected override disposeWeights(): number {
    return this.localization?.dispose().numDisposedVariables ?? 0;
  }

  /** The layer's config: its layer arguments, the sampler's options (as given) and the localisation network. */
  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig() };
    for (const [key, value] of Object.entries(this.options)) {
      if (value !== undefined) {
        config[key] = Array.isArray(value) ? [...value] : value as tf.serialization.ConfigDictValue;
      }
    }
    if (this.#pending) {
      throw new Error(
        `${CALLER}: the layer's localization layers are stacked when it is first applied; apply it first`,
      );
    }
    if (this.localization) {
      config.localization = {
        className: this.localization.getClassName(),
        config: this.localization.getConfig() as tf.serialization.ConfigDict,
      };
    }
    return config;
  }
}

/**
 * A {@linkcode SpatialTransformer}, in the style of `tf.layers.dense(...)`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { identityAffine, spatialTransformer } from "@rnnspn/core";
 * const stn = spatialTransformer({
 *   inputShape: [60, 60, 1],
 *   outputSize: [30, 30],
 *   localization: [tf.layers.flatten(), tf.layers.dense({ units: 6, biasInitializer: identityAffine() })],
 * });
 * const model = tf.sequential({ layers: [stn, tf.layers.flatten(), tf.layers.dense({ units: 10 })] });
 * ```
 *
 * @param args as for the {@linkcode SpatialTransformer} constructor.
 * @returns the layer.
 */
export function spatialTransformer(args: SpatialTransformerArgs = {}): SpatialTransformer {
  return new SpatialTransformer(args);
}

tf.serialization.registerClass(SpatialTransformer);

/**
 * What the three models share: a tfjs LayersModel (functional API) wrapped with the forward pass used
 * both for training and for `predict`, parameter counting, and save/load in the standard tfjs format
 * with the model's kind and config stored in `model.json`'s `userDefinedMetadata`.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { checkTensor } from "../tf_copies.ts";
import { captureArtifacts, type ModelSource, saveArtifacts } from "./io.ts";

/**
 * Which of the paper's models.
 *
 * @example
 * ```ts
 * import { createModel, type ModelKind, selectBackend } from "@rnnspn/core";
 * await selectBackend("cpu");
 * const kind: ModelKind = "cnn";
 * const model = createModel(kind, { digits: 3 });
 * console.log(model.kind); // "cnn"
 * model.dispose();
 * ```
 */
export type ModelKind = "rnn-spn" | "spn" | "cnn";

/**
 * Raw outputs of a forward pass (tensors the caller disposes).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { type ModelOutput, selectBackend, SpnBaseline } from "@rnnspn/core";
 * await selectBackend("cpu");
 * const model = new SpnBaseline();
 * const { logits, theta }: ModelOutput = model.forward(tf.zeros([2, 100, 100, 1]));
 * console.log(logits.shape, theta?.shape); // [2, 3, 10] [2, 1, 2, 3]
 * tf.dispose([logits, theta!]);
 * ```
 */
export interface ModelOutput {
  /** Per-step (per-digit) class scores `[B, steps, 10]`. */
  logits: tf.Tensor3D;
  /** Affine transforms `[B, steps, 2, 3]` (`[B, 1, 2, 3]` for the single-transform CNN-SPN); absent for the CNN. */
  theta?: tf.Tensor4D;
}

/**
 * What `predict` returns (tensors the caller disposes).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { CnnBaseline, type Prediction, selectBackend } from "@rnnspn/core";
 * await selectBackend("cpu");
 * const model = new CnnBaseline();
 * const p: Prediction = model.predict(tf.zeros([4, 100, 100, 1]));
 * console.log(await p.digits.array()); // 4 rows of 3 digits
 * tf.dispose([p.logits, p.probabilities, p.digits]);
 * ```
 */
export interface Prediction extends ModelOutput {
  /** Softmax of `logits`, `[B, steps, 10]`. */
  probabilities: tf.Tensor3D;
  /** Predicted digits, int32 `[B, steps]`. */
  digits: tf.Tensor2D;
}

/** The metadata key under which a model's kind and config are saved. */
export const METADATA_KEY = "rnnspn";

/** Saved metadata of a model. */
export interface ModelMetadata {
  /** Which model. */
  kind: ModelKind;
  /** Its fully resolved config. */
  config: Record<string, unknown>;
}

/**
 * Base of {@linkcode RecurrentAttention}, {@linkcode SpnBaseline} and {@linkcode CnnBaseline}.
 *
 * @example
 * ```ts
 * import { type SequenceModel, selectBackend, SpnBaseline } from "@rnnspn/core";
 * // Code written against the base class works with all three models.
 * function describe(model: SequenceModel<object>): string {
 *   return `${model.kind}: ${model.steps} digits, ${model.countParams()} weights`;
 * }
 * await selectBackend("cpu");
 * console.log(describe(new SpnBaseline({ downsampleFactor: 2 })));
 * ```
 */
export abstract class SequenceModel<C extends object> {
  /** Which model this is. */
  abstract readonly kind: ModelKind;
  /** The config with every default filled in. */
  readonly config: Readonly<Required<C>>;
  /** The underlying tfjs LayersModel (inputs `[B, H, W, 1]`; outputs logits and, with a transformer, θ). */
  readonly model: tf.LayersModel;
  /** Input image size `[height, width]`. */
  abstract readonly inputSize: readonly [number, number];

  /** Wraps a built `model` with its resolved `config` (subclasses build or load the model). */
  protected constructor(config: Required<C>, model: tf.LayersModel) {
    this.config = Object.freeze({ ...config });
    this.model = model;
  }

  /** Number of sequence steps (digits) the model outputs. */
  abstract get steps(): number;

  /**
   * The forward pass: logits `[B, steps, 10]` and θ. `training` turns dropout on. Training and
   * `predict` both run through this one function. The caller disposes the result.
   */
  forward(images: tf.Tensor4D, training = false): ModelOutput {
    checkImages(images, this.inputSize, this.constructor.name);
    const out = this.model.apply(images, { training }) as tf.Tensor | tf.Tensor[];
    const [logits, theta] = Array.isArray(out) ? out : [out];
    return theta
      ? { logits: logits as tf.Tensor3D, theta: theta as tf.Tensor4D }
      : { logits: logits as tf.Tensor3D };
  }

  /**
   * Predicts digits, per-step probabilities and θ for `images` `[B, H, W, 1]` (dropout off). The
   * caller disposes every returned tensor.
   */
  predict(images: tf.Tensor4D): Prediction {
    return tf.tidy(() => {
      const out = this.forward(images, false);
      return {
        ...out,
        probabilities: tf.softmax(out.logits) as tf.Tensor3D,
        digits: tf.argMax(out.logits, -1).toInt() as tf.Tensor2D,
      };
    }) as Prediction;
  }

  /** Total number of weights (trainable and not). */
  countParams(): number {
    return this.model.countParams();
  }

  /** tfjs's layer-by-layer summary as text. */
  summary(): string {
    const lines: string[] = [];
    this.model.summary(110, undefined, (line: string) => lines.push(line));
    return lines.join("\n");
  }

  /**
   * Saves the model in the standard tfjs LayersModel format, with its kind and config in the metadata
   * and the length + SHA-256 of its files: to a directory path or `file:` URL (`model.json`,
   * `weights.bin`, `manifest.json`, written atomically, and only into a missing or empty directory or
   * one that already holds a saved model — anything else is refused and nothing is written), to a URL
   * tfjs's router knows (`indexeddb://…`, `downloads://…`, `http(s)://…` as a POST), or to any
   * `tf.io.IOHandler`. Resolves to tfjs's `SaveResult`: the handler's own, or for a directory the
   * sizes of what was written (`modelArtifactsInfo`), as `tf.LayersModel.save` does.
   */
  async save(target: ModelSource): Promise<tf.io.SaveResult> {
    this.model.setUserDefinedMetadata({ [METADATA_KEY]: { kind: this.kind, config: this.config } });
    return await saveArtifacts(target, await captureArtifacts(this.model));
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.model.dispose();
  }
}

function checkImages(images: tf.Tensor4D, inputSize: readonly [number, number], where: string): void {
  checkTensor(images, `${where}: images`);
  const [h, w] = inputSize;
  if (
    images.rank !== 4 || images.shape[1] !== h || images.shape[2] !== w || images.shape[3] !== 1 ||
    images.dtype !== "float32"
  ) {
    throw new Error(
      `${where}: images must be float32 [B, ${h}, ${w}, 1]; got [${images.shape}] (${images.dtype})`,
    );
  }
}

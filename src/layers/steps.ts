/**
 * `SplitSteps`: moves a time axis out of the batch axis, `[B·steps, ...]` → `[B, steps, ...]`, so that
 * one shared sub-network (the glimpse classifier) runs on all `B·steps` glimpses as a single batch
 * instead of `steps` separate calls (or a TimeDistributed wrapper that loops over steps).
 *
 * It is serializable (registered with `tf.serialization`), so a LayersModel holding it saves
 * and reloads in the standard format.
 *
 * @module
 */
import { tf } from "../tf.ts";

/** Config of {@linkcode SplitSteps}. */
export interface SplitStepsArgs {
  /** Number of steps per sample (the size of the new axis 1). */
  steps: number;
  /** Layer name. */
  name?: string;
}

/** `[B·steps, ...rest]` → `[B, steps, ...rest]` (row `b·steps + s` becomes step `s` of sample `b`). */
export class SplitSteps extends tf.layers.Layer {
  /** tfjs serialization name. */
  static className = "RnnspnSplitSteps";
  /** Steps per sample. */
  readonly steps: number;

  constructor(args: SplitStepsArgs) {
    super(args);
    if (!Number.isInteger(args?.steps) || args.steps < 1) {
      throw new Error(`SplitSteps: steps must be a positive integer; got ${args?.steps}`);
    }
    this.steps = args.steps;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const [rows, ...rest] = shape;
    return [rows == null ? null : rows / this.steps, this.steps, ...rest];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const [rows, ...rest] = x.shape;
    if (rows % this.steps !== 0) {
      throw new Error(
        `SplitSteps: input rows must be a multiple of steps=${this.steps}; got shape [${x.shape}]`,
      );
    }
    return tf.reshape(x, [rows / this.steps, this.steps, ...rest]);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), steps: this.steps };
  }
}

tf.serialization.registerClass(SplitSteps);

/**
 * `RepeatedInputGRU`: a GRU that reads the same input vector at every one of `steps` time steps —
 * the RNN-SPN's localization recurrence — computing the input projection `x·W + b` once instead
 * of once per step. `RepeatVector` + tfjs's `GRU` repeat the widest product of the model (x is the
 * 1620-wide feature vector, W is 1620×768) `steps` times forward and twice that backward, and tile
 * x in memory; here it runs once, and the three steps share its gradient.
 *
 * The maths and the weights are tfjs's `GRU` (no `reset_after`, sigmoid gates, tanh, zero initial
 * state): `kernel [in, 3u]`, `recurrent_kernel [u, 3u]`, `bias [3u]`, gate order z, r, h. Output
 * `[B, steps, u]` (every step's state). Serializable with `tf.serialization`.
 *
 * @module
 */
import { tf } from "../tf.ts";

/** Config of {@linkcode RepeatedInputGRU}. */
export interface RepeatedInputGRUArgs {
  /** State size u. */
  units: number;
  /** Time steps (each reads the same input). */
  steps: number;
  /** Seed of the Glorot-uniform kernel initialiser (default 0). */
  kernelSeed?: number;
  /** Seed of the Glorot-uniform recurrent-kernel initialiser (default 1). */
  recurrentSeed?: number;
  /** Layer name. */
  name?: string;
}

/** A GRU over `steps` repetitions of one input `[B, in]` → `[B, steps, u]`; see the module doc. */
export class RepeatedInputGRU extends tf.layers.Layer {
  /** tfjs serialization name. */
  static className = "RnnspnRepeatedInputGRU";
  /** State size. */
  readonly units: number;
  /** Time steps. */
  readonly steps: number;
  readonly #kernelSeed: number;
  readonly #recurrentSeed: number;
  #kernel?: tf.LayerVariable;
  #recurrentKernel?: tf.LayerVariable;
  #bias?: tf.LayerVariable;

  constructor(args: RepeatedInputGRUArgs) {
    super({ name: args?.name });
    for (const key of ["units", "steps"] as const) {
      if (!Number.isInteger(args?.[key]) || args[key] < 1) {
        throw new Error(`RepeatedInputGRU: ${key} must be a positive integer; got ${args?.[key]}`);
      }
    }
    this.units = args.units;
    this.steps = args.steps;
    this.#kernelSeed = args.kernelSeed ?? 0;
    this.#recurrentSeed = args.recurrentSeed ?? 1;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const features = shape[shape.length - 1];
    if (shape.length !== 2 || features == null) {
      throw new Error(`RepeatedInputGRU: input must be [batch, features]; got ${JSON.stringify(shape)}`);
    }
    const u = this.units;
    // Same order, shapes and names as tfjs's GRU cell (kernel, recurrent_kernel, bias).
    this.#kernel = this.addWeight(
      "kernel",
      [features, 3 * u],
      "float32",
      tf.initializers.glorotUniform({ seed: this.#kernelSeed }),
    );
    this.#recurrentKernel = this.addWeight(
      "recurrent_kernel",
      [u, 3 * u],
      "float32",
      tf.initializers.glorotUniform({ seed: this.#recurrentSeed }),
    );
    this.#bias = this.addWeight("bias", [3 * u], "float32", tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], this.steps, this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      const u = this.units;
      const recurrent = this.#recurrentKernel!.read() as tf.Tensor2D;
      const recurrentZR = tf.slice(recurrent, [0, 0], [u, 2 * u]);
      const recurrentH = tf.slice(recurrent, [0, 2 * u], [u, u]);
      // The one input projection all steps share.
      const projection = tf.add(tf.matMul(x, this.#kernel!.read() as tf.Tensor2D), this.#bias!.read());
      const [xz, xr, xh] = tf.split(projection, 3, -1);
      const states: tf.Tensor[] = [];
      let h: tf.Tensor | undefined;
      for (let t = 0; t < this.steps; t++) {
        let z: tf.Tensor, hh: tf.Tensor;
        if (h === undefined) {
          // Zero initial state: every recurrent product is 0, so skip them (same values).
          z = tf.sigmoid(xz);
          hh = tf.tanh(xh);
          h = tf.mul(tf.sub(1, z), hh);
        } else {
          const [rz, rr] = tf.split(tf.matMul(h, recurrentZR), 2, -1);
          z = tf.sigmoid(tf.add(xz, rz));
          const r = tf.sigmoid(tf.add(xr, rr));
          hh = tf.tanh(tf.add(xh, tf.matMul(tf.mul(r, h), recurrentH)));
          h = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), hh));
        }
        states.push(h);
      }
      return tf.stack(states, 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      steps: this.steps,
      kernelSeed: this.#kernelSeed,
      recurrentSeed: this.#recurrentSeed,
    };
  }
}

tf.serialization.registerClass(RepeatedInputGRU);

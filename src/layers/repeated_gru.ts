/**
 * `RepeatedInputGRU`: a GRU that reads the same input vector at every one of `steps` time steps —
 * the RNN-SPN's localization recurrence — computing the input projection `x·W + b` once instead
 * of once per step. `RepeatVector` + tfjs's `GRU` repeat the widest product of the model (x is the
 * 1620-wide feature vector, W is 1620×768) `steps` times forward and twice that backward, and tile
 * x in memory; here it runs once, and the three steps share its gradient.
 *
 * The maths and the weights are tfjs's `GRU` (sigmoid gates, tanh, zero initial state):
 * `kernel [in, 3u]`, `recurrent_kernel [u, 3u]`, `bias [3u]`, gate order z, r, h. Two switches give
 * the authors' Lasagne `GRULayer` instead: `resetAfter` applies the reset gate after the recurrent
 * product, `h̃ = tanh(x·W_h + b_h + r ⊙ (h·U_h))` (Lasagne's and cuDNN's form; tfjs's default
 * multiplies first, `(r ⊙ h)·U_h`), and `init: "lasagne"` draws both kernels from Normal(0, 0.1)
 * (Lasagne's `Gate` default) instead of Glorot-uniform. Lasagne has no recurrent bias, like this
 * layer. Output `[B, steps, u]` (every step's state). Serializable with `tf.serialization`; a
 * switch at its default is left out of the config, so files saved before the switches existed
 * read back unchanged.
 *
 * @module
 */
import { tf } from "../tf.ts";

/**
 * How {@linkcode RepeatedInputGRU} draws its kernels: `"glorot"` (tfjs's Glorot-uniform) or
 * `"lasagne"` (Normal(0, 0.1), the authors' Lasagne `GRULayer`).
 *
 * @example
 * ```ts
 * import { type GruInit, RepeatedInputGRU } from "@rnnspn/core";
 * const init: GruInit = "lasagne";
 * const gru = new RepeatedInputGRU({ units: 8, steps: 3, init, resetAfter: true });
 * console.log(gru.init); // "lasagne"
 * ```
 */
export type GruInit = "glorot" | "lasagne";

/**
 * Config of {@linkcode RepeatedInputGRU}.
 *
 * @example
 * ```ts
 * import { RepeatedInputGRU, type RepeatedInputGRUArgs } from "@rnnspn/core";
 * const args: RepeatedInputGRUArgs = { units: 8, steps: 3, resetAfter: true };
 * console.log(new RepeatedInputGRU(args).resetAfter); // true
 * ```
 */
export interface RepeatedInputGRUArgs {
  /** State size u. */
  units: number;
  /** Time steps (each reads the same input). */
  steps: number;
  /** Seed of the Glorot-uniform kernel initialiser (default 0). */
  kernelSeed?: number;
  /** Seed of the Glorot-uniform recurrent-kernel initialiser (default 1). */
  recurrentSeed?: number;
  /** Reset gate after the recurrent product (Lasagne, cuDNN); default false (tfjs's GRU). */
  resetAfter?: boolean;
  /** Kernel initialisation (default `"glorot"`). */
  init?: GruInit;
  /** Layer name. */
  name?: string;
}

/**
 * A GRU over `steps` repetitions of one input `[B, in]` → `[B, steps, u]`; see the module doc.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { RepeatedInputGRU, selectBackend } from "@rnnspn/core";
 * await selectBackend("cpu");
 * const gru = new RepeatedInputGRU({ units: 4, steps: 3 });
 * const states = gru.apply(tf.zeros([2, 5])) as tf.Tensor;
 * console.log(states.shape); // [2, 3, 4]
 * ```
 */
export class RepeatedInputGRU extends tf.layers.Layer {
  /** tfjs serialization name. */
  static className = "RnnspnRepeatedInputGRU";
  /** State size. */
  readonly units: number;
  /** Time steps. */
  readonly steps: number;
  /** Reset gate after the recurrent product (see the module doc). */
  readonly resetAfter: boolean;
  /** Kernel initialisation. */
  readonly init: GruInit;
  readonly #kernelSeed: number;
  readonly #recurrentSeed: number;
  #kernel?: tf.LayerVariable;
  #recurrentKernel?: tf.LayerVariable;
  #bias?: tf.LayerVariable;

  /**
   * Creates the layer; throws an `Error` naming the argument when one is invalid.
   *
   * @param args units, steps, seeds, the two switches and an optional layer name.
   */
  constructor(args: RepeatedInputGRUArgs) {
    super({ name: args?.name });
    for (const key of ["units", "steps"] as const) {
      if (!Number.isInteger(args?.[key]) || args[key] < 1) {
        throw new Error(`RepeatedInputGRU: ${key} must be a positive integer; got ${args?.[key]}`);
      }
    }
    this.units = args.units;
    this.steps = args.steps;
    if (args.resetAfter !== undefined && typeof args.resetAfter !== "boolean") {
      throw new Error(
        `RepeatedInputGRU: resetAfter must be a boolean; got ${JSON.stringify(args.resetAfter)}`,
      );
    }
    if (args.init !== undefined && args.init !== "glorot" && args.init !== "lasagne") {
      throw new Error(
        `RepeatedInputGRU: init must be "glorot" or "lasagne"; got ${JSON.stringify(args.init)}`,
      );
    }
    this.resetAfter = args.resetAfter ?? false;
    this.init = args.init ?? "glorot";
    this.#kernelSeed = args.kernelSeed ?? 0;
    this.#recurrentSeed = args.recurrentSeed ?? 1;
  }

  /** Creates the kernels (`[in, 3u]`, `[u, 3u]`) and the bias (`[3u]`) for a `[batch, in]` input. */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const features = shape[shape.length - 1];
    if (shape.length !== 2 || features == null) {
      throw new Error(`RepeatedInputGRU: input must be [batch, features]; got ${JSON.stringify(shape)}`);
    }
    const u = this.units;
    const init = (seed: number) =>
      this.init === "lasagne"
        ? tf.initializers.randomNormal({ mean: 0, stddev: 0.1, seed })
        : tf.initializers.glorotUniform({ seed });
    // Same order, shapes and names as tfjs's GRU cell (kernel, recurrent_kernel, bias).
    this.#kernel = this.addWeight("kernel", [features, 3 * u], "float32", init(this.#kernelSeed));
    this.#recurrentKernel = this.addWeight(
      "recurrent_kernel",
      [u, 3 * u],
      "float32",
      init(this.#recurrentSeed),
    );
    this.#bias = this.addWeight("bias", [3 * u], "float32", tf.initializers.zeros());
    this.built = true;
  }

  /** `[B, in]` → `[B, steps, u]`. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], this.steps, this.units];
  }

  /** Every step's state, `[B, steps, u]`, for input `[B, in]`. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      const u = this.units;
      const recurrent = this.#recurrentKernel!.read() as tf.Tensor2D;
      // tfjs's form multiplies r ⊙ h by the candidate's columns alone, so those are split off.
      const [recurrentZR, recurrentH] = this.resetAfter
        ? [recurrent, recurrent]
        : [tf.slice(recurrent, [0, 0], [u, 2 * u]), tf.slice(recurrent, [0, 2 * u], [u, u])];
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
        } else if (this.resetAfter) {
          // One product for all three gates; r scales the candidate's recurrent part afterwards.
          const [rz, rr, rh] = tf.split(tf.matMul(h, recurrent), 3, -1);
          z = tf.sigmoid(tf.add(xz, rz));
          const r = tf.sigmoid(tf.add(xr, rr));
          hh = tf.tanh(tf.add(xh, tf.mul(r, rh)));
          h = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), hh));
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

  /** The config `tf.serialization` saves: the switches only where they differ from tfjs's GRU. */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      steps: this.steps,
      kernelSeed: this.#kernelSeed,
      recurrentSeed: this.#recurrentSeed,
      ...(this.resetAfter ? { resetAfter: true } : {}),
      ...(this.init !== "glorot" ? { init: this.init } : {}),
    };
  }
}

tf.serialization.registerClass(RepeatedInputGRU);

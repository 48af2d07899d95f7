/**
 * Initializers that start a θ-predicting layer at the identity transform: the bias of the
 * localisation network's last dense layer gets the identity (with a zero kernel, every image is
 * first seen whole and unchanged, Jaderberg et al.'s recommendation), no hand-written `setWeights`.
 * Both are registered with `tf.serialization`, so a model that uses them saves and reloads.
 *
 * @module
 */
import { tf } from "../tf.ts";

/**
 * tfjs-layers' `Initializer` base class. tfjs exports only its instances (`tf.initializers.zeros()`),
 * yet a layer takes an initializer object only if it is `instanceof` that class: it is reached through
 * the prototype chain of one of its subclasses, and the classes below are put under it (their declared
 * base, `Serializable`, is its own, so their public types stay tfjs's public ones).
 */
const Initializer = Object.getPrototypeOf(
  tf.initializers.zeros().constructor,
) as typeof tf.serialization.Serializable;

/** Puts `cls` under tfjs-layers' `Initializer` (its prototype and its statics). */
function asInitializer(cls: typeof tf.serialization.Serializable): void {
  Object.setPrototypeOf(cls.prototype, Initializer.prototype);
  Object.setPrototypeOf(cls, Initializer);
}

/** θ = identity as the 2×3 affine matrix, row-major: the sampler's `[M, 6]` row. */
const AFFINE = [1, 0, 0, 0, 1, 0];
/** θ = identity as the 3×3 projective matrix, row-major: the sampler's `[M, 9]` row. */
const PROJECTIVE = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/** The identity `values` in `shape`, which must hold exactly one θ (`[n]` or `[rows, cols]`). */
function identity(
  values: number[],
  shape: tf.Shape,
  dtype: tf.DataType | undefined,
  caller: string,
  shapes: string,
): tf.Tensor {
  const size = shape.reduce<number>((a, b) => a * (b ?? NaN), 1);
  const matrix = values.length === 6 ? [2, 3] : [3, 3];
  const ok = size === values.length &&
    ((shape.length === 1) || (shape.length === 2 && shape[0] === matrix[0] && shape[1] === matrix[1]));
  if (!ok) {
    throw new Error(
      `${caller}: initializes one θ, shape ${shapes}; got shape ${JSON.stringify(shape)} ` +
        `(use it as the biasInitializer of the dense layer that predicts θ, with kernelInitializer "zeros")`,
    );
  }
  if (dtype !== undefined && dtype !== "float32") {
    throw new Error(`${caller}: θ is float32; got dtype ${dtype}`);
  }
  return tf.tensor(values, shape as number[], "float32");
}

/**
 * Initializes a θ vector to the identity affine map `[1, 0, 0, 0, 1, 0]` (shape `[6]` or `[2, 3]`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { IdentityAffine } from "@rnnspn/core";
 * const theta = tf.layers.dense({ units: 6, kernelInitializer: "zeros", biasInitializer: new IdentityAffine() });
 * ```
 */
export class IdentityAffine extends tf.serialization.Serializable {
  /** tfjs serialization name. */
  static className = "RnnspnIdentityAffine";

  /** The identity θ of `shape` (`[6]` or `[2, 3]`); throws on any other shape or a non-float dtype. */
  apply(shape: tf.Shape, dtype?: tf.DataType): tf.Tensor {
    return identity(AFFINE, shape, dtype, "identityAffine", "[6] or [2, 3]");
  }

  /** No options: an empty config. */
  getConfig(): tf.serialization.ConfigDict {
    return {};
  }

  /** As every tfjs initializer: its config needs no custom objects. */
  fromConfigUsesCustomObjects(): boolean {
    return false;
  }
}

/**
 * Initializes a θ vector to the identity projective map `[1, 0, 0, 0, 1, 0, 0, 0, 1]` (shape `[9]` or
 * `[3, 3]`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { IdentityProjective } from "@rnnspn/core";
 * const theta = tf.layers.dense({ units: 9, kernelInitializer: "zeros", biasInitializer: new IdentityProjective() });
 * ```
 */
export class IdentityProjective extends tf.serialization.Serializable {
  /** tfjs serialization name. */
  static className = "RnnspnIdentityProjective";

  /** The identity θ of `shape` (`[9]` or `[3, 3]`); throws on any other shape or a non-float dtype. */
  apply(shape: tf.Shape, dtype?: tf.DataType): tf.Tensor {
    return identity(PROJECTIVE, shape, dtype, "identityProjective", "[9] or [3, 3]");
  }

  /** No options: an empty config. */
  getConfig(): tf.serialization.ConfigDict {
    return {};
  }

  /** As every tfjs initializer: its config needs no custom objects. */
  fromConfigUsesCustomObjects(): boolean {
    return false;
  }
}

/**
 * A new {@linkcode IdentityAffine}, in the style of `tf.initializers.zeros()`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { identityAffine } from "@rnnspn/core";
 * const theta = tf.layers.dense({ units: 6, kernelInitializer: "zeros", biasInitializer: identityAffine() });
 * ```
 */
export function identityAffine(): IdentityAffine {
  return new IdentityAffine();
}

/**
 * A new {@linkcode IdentityProjective}, in the style of `tf.initializers.zeros()`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { identityProjective } from "@rnnspn/core";
 * const theta = tf.layers.dense({ units: 9, kernelInitializer: "zeros", biasInitializer: identityProjective() });
 * ```
 */
export function identityProjective(): IdentityProjective {
  return new IdentityProjective();
}

asInitializer(IdentityAffine);
asInitializer(IdentityProjective);
tf.serialization.registerClass(IdentityAffine);
tf.serialization.registerClass(IdentityProjective);

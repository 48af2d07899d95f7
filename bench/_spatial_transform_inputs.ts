/**
 * The spatial-transform benches' inputs at the paper's size: images [100, 100, 100, 1] and θ for
 * k = 3 glimpses per image (no tiling), the same seeded values on every call and backend.
 *
 * @module
 */
import { tf } from "../src/tf.ts";

const N = 100, K = 3, SIZE = 100;

/**
 * Images and θ `[300, 6]` (scale 0.5 ± 0.1, translation ± 0.5: glimpses of the kind RNN-SPN takes),
 * or with `projective` θ `[300, 9]`: the same rows with a mild perspective (denominators
 * 1 + (±0.2)·x + (±0.2)·y, between 0.6 and 1.4). The caller disposes both.
 */
export function paperInputs(projective = false): { image: tf.Tensor4D; theta: tf.Tensor2D } {
  const image = tf.randomUniform([N, SIZE, SIZE, 1], 0, 1, "float32", 1) as tf.Tensor4D;
  const theta = tf.tidy(() => {
    const scale = tf.randomUniform([N * K, 1], 0.4, 0.6, "float32", 2);
    const shift = tf.randomUniform([N * K, 2], -0.5, 0.5, "float32", 3);
    const zeros = tf.zeros([N * K, 1]);
    const affine = tf.concat([
      scale,
      zeros,
      shift.slice([0, 0], [-1, 1]),
      zeros,
      scale,
      shift.slice([0, 1], [-1, 1]),
    ], 1);
    if (!projective) return affine;
    return tf.concat([affine, tf.randomUniform([N * K, 2], -0.2, 0.2, "float32", 4), tf.ones([N * K, 1])], 1);
  }) as tf.Tensor2D;
  return { image, theta };
}

/**
 * spatialTransform's argument checks (every error names the argument and what it saw) and its
 * behaviour on NaN / infinite θ, on every backend.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { affineGrid, selectBackend, spatialTransform, type SpatialTransformOptions } from "../mod.ts";
import { BACKENDS, needs } from "./_backends.ts";
import { prng, randomTheta, uniform } from "./_reference_sampler.ts";

type Args = [tf.Tensor, tf.Tensor, SpatialTransformOptions?];

/** Each bad input, with the message it must produce. */
function badInputs(): [string, () => Args, RegExp][] {
  const img = () => tf.zeros([2, 9, 8, 1]);
  const th = (m = 2) => tf.zeros([m, 6]);
  return [
    [
      "image of rank 3",
      () => [tf.zeros([9, 8, 1]), th()],
      /image must be a float32 \[N, H, W, C\].*got shape \[9, 8, 1\]/,
    ],
    [
      "image of dtype int32",
      () => [tf.zeros([2, 9, 8, 1], "int32"), th()],
      /image .*got shape \[2, 9, 8, 1\] \(int32\)/,
    ],
    [
      "image with a zero-size dimension",
      () => [tf.zeros([2, 0, 8, 1]), th()],
      /image must have no zero-size.*\[2, 0, 8, 1\]/,
    ],
    [
      "theta [M, 5]",
      () => [img(), tf.zeros([2, 5])],
      /theta must be a float32 affine \[M, 6\] or \[M, 2, 3\] or projective \[M, 9\] or \[M, 3, 3\].*got shape \[2, 5\]/,
    ],
    ["theta [M, 3, 2]", () => [img(), tf.zeros([2, 3, 2])], /theta must be .*got shape \[2, 3, 2\]/],
    [
      "theta [M, 4, 4]",
      () => [img(), tf.zeros([2, 4, 4])],
      /theta must be .*projective.*got shape \[2, 4, 4\]/,
    ],
    ["theta [M, 8]", () => [img(), tf.zeros([2, 8])], /theta must be .*got shape \[2, 8\]/],
    ["theta of rank 1", () => [img(), tf.zeros([6])], /theta must be .*got shape \[6\]/],
    ["theta of dtype int32", () => [img(), tf.zeros([2, 6], "int32")], /theta .*\(int32\)/],
    [
      "theta rows not a multiple of N",
      () => [img(), th(3)],
      /multiple k·N .*N = 2.*theta shape \[3, 6\].*image shape \[2, 9, 8, 1\]/,
    ],
    ["theta with 0 rows", () => [img(), th(0)], /multiple k·N .*theta shape \[0, 6\]/],
    ["a plain array as image", () => [[[1]] as unknown as tf.Tensor, th()], /image must be a tf\.Tensor/],
    [
      "outputSize [0, 5]",
      () => [img(), th(), { outputSize: [0, 5] }],
      /options\.outputSize .*positive integers; got \[0,5\]/,
    ],
    [
      "outputSize [2.5, 5]",
      () => [img(), th(), { outputSize: [2.5, 5] }],
      /options\.outputSize .*got \[2\.5,5\]/,
    ],
    [
      "outputSize [-3, 5]",
      () => [img(), th(), { outputSize: [-3, 5] }],
      /options\.outputSize .*got \[-3,5\]/,
    ],
    [
      "outputSize of length 1",
      () => [img(), th(), { outputSize: [4] as unknown as [number, number] }],
      /options\.outputSize .*got \[4\]/,
    ],
    [
      "downsampleFactor 0",
      () => [img(), th(), { downsampleFactor: 0 }],
      /options\.downsampleFactor must be a finite number > 0; got 0/,
    ],
    ["downsampleFactor -2", () => [img(), th(), { downsampleFactor: -2 }], /downsampleFactor .*got -2/],
    ["downsampleFactor NaN", () => [img(), th(), { downsampleFactor: NaN }], /downsampleFactor .*got NaN/],
    [
      "downsampleFactor making a zero-size output",
      () => [img(), th(), { downsampleFactor: 9 }],
      /downsampleFactor 9 turns the 9×8 image into a zero-size 1×0 output/,
    ],
    [
      'paddingMode "mirror"',
      () => [img(), th(), { paddingMode: "mirror" as "zeros" }],
      /options\.paddingMode must be one of "border", "zeros", "reflection"; got "mirror"/,
    ],
    [
      'mode "area"',
      () => [img(), th(), { mode: "area" as "nearest" }],
      /options\.mode must be one of "bilinear", "nearest", "bicubic"; got "area"/,
    ],
    [
      "mode 1",
      () => [img(), th(), { mode: 1 as unknown as "nearest" }],
      /options\.mode must be one of .*got 1/,
    ],
    [
      'alignCorners "yes"',
      () => [img(), th(), { alignCorners: "yes" as unknown as boolean }],
      /alignCorners must be a boolean; got "yes"/,
    ],
  ];
}

for (const [what, make, message] of badInputs()) {
  Deno.test(`spatialTransform rejects ${what}`, async () => {
    await selectBackend("cpu");
    const args = make();
    assert.throws(() => spatialTransform(args[0] as tf.Tensor4D, args[1] as tf.Tensor2D, args[2]), message);
    tf.dispose(args.filter((a) => a instanceof tf.Tensor) as tf.Tensor[]);
  });
}

Deno.test("affineGrid rejects a bad theta and a bad outputSize", async () => {
  await selectBackend("cpu");
  tf.tidy(() => {
    assert.throws(
      () => affineGrid(tf.zeros([2, 5]) as tf.Tensor2D, [3, 3]),
      /affineGrid: theta .*got shape \[2, 5\]/,
    );
    assert.throws(
      () => affineGrid(tf.zeros([2, 6]) as tf.Tensor2D, [3, 0]),
      /affineGrid: outputSize .*got \[3,0\]/,
    );
  });
});

Deno.test("downsampleFactor gives floor(H / f) × floor(W / f), and defaults to the input size", async () => {
  await selectBackend("cpu");
  tf.tidy(() => {
    const image = tf.zeros([1, 100, 100, 1]) as tf.Tensor4D, theta = tf.zeros([3, 6]) as tf.Tensor2D;
    assert.deepEqual(spatialTransform(image, theta, { downsampleFactor: 3 }).shape, [3, 33, 33, 1]);
    assert.deepEqual(spatialTransform(image, theta, { downsampleFactor: 2.5 }).shape, [3, 40, 40, 1]);
    assert.deepEqual(spatialTransform(image, theta).shape, [3, 100, 100, 1]);
    assert.deepEqual(spatialTransform(image, theta, { outputSize: [7, 5], downsampleFactor: 3 }).shape, [
      3,
      7,
      5,
      1,
    ]);
  });
});

for (const backend of BACKENDS) {
  Deno.test({
    name: `a NaN or infinite θ row gives zeros and no gradient for that row only (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const rand = prng(7);
      const [n, k, h, w, c] = [2, 3, 5, 4, 2];
      const imageData = uniform(rand, n * 9 * 8 * c);
      const thetaData = randomTheta(rand, n * k);
      const bad = thetaData.slice();
      bad[1 * 6 + 2] = NaN; // row 1: NaN translation
      bad[4 * 6 + 0] = Infinity; // row 4: infinite scale
      for (const paddingMode of ["border", "zeros"] as const) {
        const options = { outputSize: [h, w] as [number, number], paddingMode };
        const image = tf.tensor4d(imageData, [n, 9, 8, c]);
        const good = tf.tensor2d(thetaData, [n * k, 6]);
        const broken = tf.tensor2d(bad, [n * k, 6]);
        const upstream = tf.randomUniform([n * k, h, w, c], -1, 1, "float32", 3);
        const f = (im: tf.Tensor, th: tf.Tensor) =>
          tf.sum(tf.mul(spatialTransform(im as tf.Tensor4D, th as tf.Tensor2D, options), upstream));
        const expected = await spatialTransform(image, good, options).array();
        const actual = await spatialTransform(image, broken, options).array();
        const [, dThetaGood] = tf.grads(f)([image, good]);
        const [dImage, dThetaBad] = tf.grads(f)([image, broken]);
        const dThetaG = await dThetaGood.array() as number[][],
          dThetaB = await dThetaBad.array() as number[][];
        for (let r = 0; r < n * k; r++) {
          if (r === 1 || r === 4) {
            assert.ok(
              actual[r].flat(2).every((v) => v === 0),
              `${paddingMode}: row ${r} output is all zeros`,
            );
            assert.deepEqual(dThetaB[r], [0, 0, 0, 0, 0, 0], `${paddingMode}: row ${r} gets no gradient`);
          } else {
            assert.deepEqual(actual[r], expected[r], `${paddingMode}: row ${r} is untouched`);
            for (let q = 0; q < 6; q++) assert.ok(Math.abs(dThetaB[r][q] - dThetaG[r][q]) <= 1e-5);
          }
        }
        assert.ok((await dImage.data()).every(Number.isFinite), `${paddingMode}: ∂image stays finite`);
        tf.dispose([image, good, broken, upstream, dThetaGood, dImage, dThetaBad]);
      }
    },
  });
}

for (const backend of BACKENDS) {
  Deno.test({
    name: `spatialTransform and its gradient leave no tensors behind (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const image = tf.randomUniform([2, 7, 9, 3]) as tf.Tensor4D;
      const theta = tf.randomUniform([4, 2, 3]) as tf.Tensor3D;
      const before = tf.memory().numTensors;
      const out = spatialTransform(image, theta, { outputSize: [3, 5] });
      assert.equal(tf.memory().numTensors, before + 1, "the op returns one tensor and keeps nothing else");
      out.dispose();
      const grads = tf.grads((im: tf.Tensor, th: tf.Tensor) =>
        tf.sum(spatialTransform(im as tf.Tensor4D, th as tf.Tensor3D, { outputSize: [3, 5] }))
      )([image, theta]);
      assert.equal(tf.memory().numTensors, before + 2, "tf.grads keeps only the two gradients");
      tf.dispose([image, theta, ...grads]);
    },
  });
}

/**
 * The SpatialTransformer layer: inside a LayersModel it gives spatialTransform's output, it trains
 * a θ-predicting layer through it, and the model saves (tf.io memory handler) and reloads to the
 * same output.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend, spatialTransform, SpatialTransformer } from "../mod.ts";
import { BACKENDS, needs } from "./_backends.ts";
import { prng, randomTheta, uniform } from "./_reference_sampler.ts";

/** image [9, 11, 2] + θ [6] → SpatialTransformer → [5, 7, 2]. */
function buildModel(): tf.LayersModel {
  const image = tf.input({ shape: [9, 11, 2], name: "image" });
  const theta = tf.input({ shape: [6], name: "theta" });
  const layer = new SpatialTransformer({ outputSize: [5, 7], paddingMode: "zeros", name: "st" });
  const out = layer.apply([image, theta]) as tf.SymbolicTensor;
  assert.deepEqual(out.shape, [null, 5, 7, 2]);
  return tf.model({ inputs: [image, theta], outputs: out });
}

Deno.test("SpatialTransformer output shape follows downsampleFactor; options are checked", () => {
  const st = new SpatialTransformer({ downsampleFactor: 3 });
  assert.deepEqual(st.computeOutputShape([[null, 100, 100, 1], [null, 6]]), [null, 33, 33, 1]);
  assert.deepEqual(
    new SpatialTransformer().computeOutputShape([[4, 8, 6, 3], [12, 2, 3]]),
    [12, 8, 6, 3],
  );
  assert.throws(
    () => new SpatialTransformer({ downsampleFactor: -1 }),
    /SpatialTransformer: options\.downsampleFactor/,
  );
  assert.throws(
    () => new SpatialTransformer({ outputSize: [3, 0] }),
    /SpatialTransformer: options\.outputSize .*got \[3,0\]/,
  );
  assert.throws(
    () => new SpatialTransformer({ downsampleFactor: 50 }).computeOutputShape([[null, 10, 10, 1], [null, 6]]),
    /SpatialTransformer: options\.downsampleFactor 50 turns the 10×10 image into a zero-size 0×0 output/,
  );
  assert.throws(
    () => new SpatialTransformer().computeOutputShape([[null, null, null, 1], [null, 6]]),
    /needs options\.outputSize/,
  );
});

for (const backend of BACKENDS) {
  Deno.test({
    name: `SpatialTransformer in a LayersModel: output, save/reload, training through θ (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const rand = prng(33);
      const image = tf.tensor4d(uniform(rand, 3 * 9 * 11 * 2), [3, 9, 11, 2]);
      const theta = tf.tensor2d(randomTheta(rand, 3), [3, 6]);
      const model = buildModel();
      const predicted = model.predict([image, theta]) as tf.Tensor;
      const direct = spatialTransform(image, theta, { outputSize: [5, 7], paddingMode: "zeros" });
      assert.deepEqual(await predicted.data(), await direct.data());

      let saved: tf.io.ModelArtifacts | undefined;
      await model.save(tf.io.withSaveHandler((artifacts) => {
        saved = artifacts;
        return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
      }));
      assert.ok(saved, "the model was saved");
      assert.match(JSON.stringify(saved.modelTopology), /"class_name":"RnnspnSpatialTransformer"/);
      const reloaded = await tf.loadLayersModel(tf.io.fromMemory(saved));
      const layer = reloaded.getLayer("st");
      assert.ok(layer instanceof SpatialTransformer, "the reloaded layer is a SpatialTransformer");
      assert.deepEqual(layer.options, { outputSize: [5, 7], paddingMode: "zeros" });
      const again = reloaded.predict([image, theta]) as tf.Tensor;
      assert.deepEqual(await again.data(), await predicted.data());

      // θ from a dense layer: the layer's gradient reaches the dense kernel.
      const input = tf.input({ shape: [9, 11, 2] });
      const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
      const dense = tf.layers.dense({ units: 6, kernelInitializer: "glorotUniform" });
      const th = dense.apply(flat) as tf.SymbolicTensor;
      const glimpse = new SpatialTransformer({ outputSize: [4, 4] }).apply([input, th]) as tf.SymbolicTensor;
      const net = tf.model({ inputs: input, outputs: glimpse });
      const { grads, value } = tf.variableGrads(() =>
        tf.sum(tf.square(net.apply(image) as tf.Tensor)) as tf.Scalar
      );
      const kernelGrad = grads[dense.trainableWeights[0].name];
      assert.ok(kernelGrad, "the dense kernel is among the trained variables");
      assert.ok((await kernelGrad.data()).some((v) => v !== 0), "θ's gradient reaches the dense layer");
      tf.dispose([image, theta, predicted, direct, again, value, ...Object.values(grads)]);
      model.dispose();
      reloaded.dispose();
      net.dispose();
    },
  });
}

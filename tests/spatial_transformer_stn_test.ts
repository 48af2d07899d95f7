/**
 * The SpatialTransformer that owns its localisation network: a whole STN as one layer of a
 * tf.sequential that trains with fit, saves and reloads through tfjs's own loader (the nested network
 * included) bit for bit, with the identity initializers; and the shape checks run when it is built.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import {
  Glimpses,
  IdentityAffine,
  identityAffine,
  identityProjective,
  selectBackend,
  spatialTransform,
  SpatialTransformer,
  spatialTransformer,
} from "../mod.ts";
import { BACKENDS, needs } from "./_backends.ts";
import { prng, uniform } from "./_reference_sampler.ts";

const SIZE = 16;

/** The localisation layers: pool → flatten → dense(8) → dense(6) starting at the identity. */
function localizationLayers(seed: number): tf.layers.Layer[] {
  return [
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({
      units: 8,
      activation: "relu",
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
    }),
    tf.layers.dense({ units: 6, kernelInitializer: "zeros", biasInitializer: identityAffine() }),
  ];
}

/** STN classifier: spatialTransformer(16×16 → 8×8) → flatten → dense(3) softmax. */
function stnClassifier(localization: tf.LayersModel | tf.layers.Layer[], seed = 1): tf.Sequential {
  return tf.sequential({
    layers: [
      spatialTransformer({ inputShape: [SIZE, SIZE, 1], outputSize: [8, 8], localization, name: "stn" }),
      tf.layers.flatten(),
      tf.layers.dense({
        units: 3,
        activation: "softmax",
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

/** 24 images, each a bright 4×4 square whose corner (class 0, 1, 2) is the label. */
function squares(): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const rand = prng(5);
  const count = 24, pixels = new Float32Array(count * SIZE * SIZE), labels = new Float32Array(count);
  const corners = [[1, 1], [1, 11], [11, 6]];
  for (let n = 0; n < count; n++) {
    const label = n % 3, [r0, c0] = corners[label];
    labels[n] = label;
    const dr = Math.floor(rand() * 3), dc = Math.floor(rand() * 3);
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) pixels[n * SIZE * SIZE + (r0 + dr + r) * SIZE + c0 + dc + c] = 1;
    }
  }
  return { x: tf.tensor4d(pixels, [count, SIZE, SIZE, 1]), y: tf.tensor1d(labels) };
}

/** The model's artifacts through tfjs's memory route. */
async function saved(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  return artifacts!;
}

for (const backend of BACKENDS.filter((b) => b !== "cpu")) {
  Deno.test({
    name: `a tf.sequential STN trains with compile + fit: loss falls, θ's net learns (${backend})`,
    ...needs(backend),
    fn: async () => {
      await selectBackend(backend);
      const { x, y } = squares();
      const model = stnClassifier(localizationLayers(3));
      const stn = model.getLayer("stn") as SpatialTransformer;
      assert.equal(stn.localization?.weights.length, 4, "the layer owns the localisation net's 4 weights");
      assert.equal(model.trainableWeights.length, 6, "fit trains the localisation net and the classifier");
      model.compile({ optimizer: tf.train.adam(0.02), loss: "sparseCategoricalCrossentropy" });
      const history = await model.fit(x, y, { epochs: 8, batchSize: 8, shuffle: false, verbose: 0 });
      const loss = history.history.loss as number[];
      assert.ok(loss.every(Number.isFinite), `finite losses: ${loss}`);
      assert.ok(loss[loss.length - 1] < 0.7 * loss[0], `loss falls: ${loss.map((l) => l.toFixed(3))}`);
      const thetaKernel = stn.localization!.layers.at(-1)!.getWeights()[0];
      assert.ok(
        (await thetaKernel.data()).some((v) => v !== 0),
        "the θ layer's kernel (initialised to zeros) moved: the gradient reached the localisation net",
      );
      tf.dispose([x, y]); // getWeights() hands out the variables themselves: not disposed here
      model.dispose();
    },
  });
}

Deno.test("STN layer: with a localisation net its output is spatialTransform(image, net(image)); frozen, it trains nothing", async () => {
  await selectBackend("cpu");
  const net = tf.sequential({
    layers: [tf.layers.inputLayer({ inputShape: [SIZE, SIZE, 1] }), ...localizationLayers(4)],
  });
  // A non-identity θ so that the comparison means something.
  const last = net.layers.at(-1)!;
  const [kernel] = last.getWeights();
  last.setWeights([kernel, tf.tensor1d([0.7, 0.2, 0.1, -0.1, 0.8, -0.2])]);
  const layer = new SpatialTransformer({ outputSize: [5, 7], paddingMode: "zeros", localization: net });
  const image = tf.tensor4d(uniform(prng(8), 2 * SIZE * SIZE), [2, SIZE, SIZE, 1]);
  const out = layer.apply(image) as tf.Tensor;
  const theta = net.predict(image) as tf.Tensor2D;
  const direct = spatialTransform(image, theta, { outputSize: [5, 7], paddingMode: "zeros" });
  assert.deepEqual(out.shape, [2, 5, 7, 1]);
  assert.deepEqual(await out.data(), await direct.data());
  assert.equal(layer.countParams(), net.countParams());
  layer.trainable = false;
  assert.equal(layer.trainableWeights.length, 0);
  assert.equal(layer.nonTrainableWeights.length, 4);
  tf.dispose([image, out, theta, direct]);
  layer.dispose();
});

Deno.test("STN in a tf.sequential saves and reloads through tf.loadLayersModel bit for bit (layer list, sequential, functional nets)", async () => {
  await selectBackend("cpu");
  const input = tf.input({ shape: [SIZE, SIZE, 1] });
  const features = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const theta = tf.layers.dense({ units: 6, biasInitializer: new IdentityAffine() }).apply(features);
  const functional = tf.model({ inputs: input, outputs: theta as tf.SymbolicTensor });
  const sequential = tf.sequential({
    layers: [tf.layers.inputLayer({ inputShape: [SIZE, SIZE, 1] }), ...localizationLayers(6)],
  });
  const image = tf.tensor4d(uniform(prng(9), 3 * SIZE * SIZE, 0, 1), [3, SIZE, SIZE, 1]);
  for (
    const [what, localization] of [["list", localizationLayers(5)], ["sequential", sequential], [
      "functional",
      functional,
    ]] as const
  ) {
    const model = stnClassifier(localization as tf.LayersModel | tf.layers.Layer[]);
    // Move θ off the identity so that a θ lost on reload would show.
    const stn = model.getLayer("stn") as SpatialTransformer;
    tf.tidy(() => stn.localization!.setWeights(stn.localization!.getWeights().map((w) => tf.add(w, 0.01))));
    const artifacts = await saved(model);
    const json = JSON.stringify(artifacts.modelTopology);
    assert.match(json, /"class_name":"RnnspnSpatialTransformer"/, what);
    assert.match(json, /"localization":\{"class_name":"(Sequential|Model)"/, what);
    const reloaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const again = reloaded.getLayer("stn");
    assert.ok(
      again instanceof SpatialTransformer && again.localization,
      `${what}: a SpatialTransformer with its net`,
    );
    assert.deepEqual(reloaded.weights.map((w) => w.originalName), model.weights.map((w) => w.originalName));
    for (const [i, w] of model.getWeights().entries()) {
      assert.deepEqual(await reloaded.getWeights()[i].data(), await w.data(), `${what}: weight ${i}`);
    }
    const [a, b] = [model.predict(image), reloaded.predict(image)] as tf.Tensor[];
    assert.deepEqual(await b.data(), await a.data(), `${what}: same predictions`);
    // Saved again, the reloaded model gives the same topology: nothing was lost on the way.
    assert.equal(JSON.stringify((await saved(reloaded)).modelTopology), json, what);
    tf.dispose([a, b]);
    model.dispose();
    reloaded.dispose();
  }
  image.dispose();
});

Deno.test("identityAffine / identityProjective give the identity θ and serialise by name", async () => {
  await selectBackend("cpu");
  const a = identityAffine().apply([6]), b = identityProjective().apply([3, 3]);
  assert.deepEqual(Array.from(await a.data()), [1, 0, 0, 0, 1, 0]);
  assert.deepEqual(Array.from(await b.data()), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.deepEqual(identityAffine().apply([2, 3]).shape, [2, 3]);
  const dense = tf.layers.dense({ units: 6, inputShape: [4], biasInitializer: "RnnspnIdentityAffine" });
  const model = tf.sequential({ layers: [dense] });
  assert.deepEqual(Array.from(await dense.getWeights()[1].data()), [1, 0, 0, 0, 1, 0]);
  const json = JSON.stringify((await saved(model)).modelTopology);
  assert.match(json, /"bias_initializer":\{"class_name":"RnnspnIdentityAffine"/);
  assert.throws(
    () => identityAffine().apply([4, 6]),
    /identityAffine: initializes one θ, shape \[6\] or \[2, 3\]; got shape \[4,6\]/,
  );
  assert.throws(
    () => identityProjective().apply([6]),
    /identityProjective: .*\[9\] or \[3, 3\]; got shape \[6\]/,
  );
  assert.throws(() => identityAffine().apply([6], "int32"), /θ is float32; got dtype int32/);
  tf.dispose([a, b]);
  model.dispose();
});

Deno.test("STN layer bad inputs: θ of 5 refused when built, NCHW refused, localisation checked", async () => {
  await selectBackend("cpu");
  const fiveTheta = () =>
    tf.sequential({
      layers: [
        spatialTransformer({
          inputShape: [SIZE, SIZE, 1],
          outputSize: [4, 4],
          localization: [tf.layers.flatten(), tf.layers.dense({ units: 5 })],
        }),
      ],
    });
  assert.throws(
    fiveTheta,
    /SpatialTransformer: θ must be .*last dimension 6 or 9 expected; got shape \[null,5\]/,
  );
  // The same check in the two-input form.
  const image = tf.input({ shape: [SIZE, SIZE, 1] });
  const theta5 = tf.input({ shape: [5] });
  assert.throws(
    () => new SpatialTransformer().apply([image, theta5]),
    /6 or 9 expected; got shape \[null,5\]/,
  );
  // [N, 1, 60, 60] NCHW read as NHWC would be a 1×60 image with 60 channels.
  const nchw = tf.input({ shape: [1, 60, 60] });
  const theta6 = tf.input({ shape: [6] });
  assert.throws(
    () => new SpatialTransformer({ outputSize: [30, 30] }).apply([nchw, theta6]),
    /SpatialTransformer: the image shape \[null,1,60,60\] looks like NCHW \(channels 60 > height 1 .*reads NHWC/,
  );
  assert.throws(
    () =>
      spatialTransformer({
        inputShape: [3, 28, 28],
        localization: [tf.layers.flatten(), tf.layers.dense({ units: 6 })],
      }).apply(tf.input({ shape: [3, 28, 28] })),
    /looks like NCHW/,
  );
  // A small NHWC feature map with fewer channels than rows is fine.
  assert.deepEqual(
    (new SpatialTransformer({ outputSize: [2, 2] }).apply([
      tf.input({ shape: [4, 4, 3] }),
      theta6,
    ]) as tf.SymbolicTensor).shape,
    [null, 2, 2, 3],
  );
  assert.throws(
    () => new SpatialTransformer({ localization: 7 as never }),
    /localization must be a tf\.LayersModel, a layer or a non-empty list of layers; got number/,
  );
  assert.throws(
    () => new SpatialTransformer({ localization: [] }),
    /non-empty list of layers; got a list of 0/,
  );
  const twoOut = tf.model({
    inputs: image,
    outputs: [tf.layers.flatten().apply(image), tf.layers.flatten().apply(image)] as tf.SymbolicTensor[],
  });
  assert.throws(
    () => new SpatialTransformer({ localization: twoOut }),
    /one input \(the image\) and one output \(θ\); it has 1 and 2/,
  );
  const net = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [8, 8, 1] }), tf.layers.dense({ units: 6 })],
  });
  assert.throws(
    () => new SpatialTransformer({ localization: net }).apply(tf.input({ shape: [SIZE, SIZE, 1] })),
    /the localization network takes images of shape \[null,8,8,1\]; this layer's input has shape \[null,16,16,1\]/,
  );
  const owning = new SpatialTransformer({
    localization: [tf.layers.flatten(), tf.layers.dense({ units: 6 })],
  });
  assert.throws(
    () => owning.apply([image, theta6]),
    /with a localization network the layer takes one input, the image/,
  );
});

Deno.test("Glimpses (exported): k glimpses per image as spatialTransform's rows, options forwarded, reloads", async () => {
  await selectBackend("cpu");
  const image = tf.input({ shape: [SIZE, SIZE, 1] });
  const theta = tf.input({ shape: [3, 6] });
  const layer = new Glimpses({ outputSize: [5, 5], paddingMode: "zeros", name: "g" });
  const model = tf.model({
    inputs: [image, theta],
    outputs: layer.apply([image, theta]) as tf.SymbolicTensor,
  });
  const rand = prng(12);
  const x = tf.tensor4d(uniform(rand, 2 * SIZE * SIZE), [2, SIZE, SIZE, 1]);
  const t = tf.tensor3d(uniform(rand, 2 * 3 * 6, -0.8, 0.8), [2, 3, 6]);
  const out = model.predict([x, t]) as tf.Tensor;
  const direct = spatialTransform(x, tf.reshape(t, [6, 6]) as tf.Tensor2D, {
    outputSize: [5, 5],
    paddingMode: "zeros",
  });
  assert.deepEqual(out.shape, [6, 5, 5, 1]);
  assert.deepEqual(await out.data(), await direct.data());
  const reloaded = await tf.loadLayersModel(tf.io.fromMemory(await saved(model)));
  assert.deepEqual((reloaded.getLayer("g") as Glimpses).options, {
    outputSize: [5, 5],
    paddingMode: "zeros",
  });
  const again = reloaded.predict([x, t]) as tf.Tensor;
  assert.deepEqual(await again.data(), await out.data());
  tf.dispose([x, t, out, direct, again]);
  model.dispose();
  reloaded.dispose();
});

Deno.test("SpatialTransformer passes mode, reflection padding and a projective θ to the sampler, and saves them", async () => {
  await selectBackend("wasm");
  const rand = prng(31);
  const images = tf.tensor4d(uniform(rand, 2 * SIZE * SIZE), [2, SIZE, SIZE, 1]);
  const options = {
    outputSize: [8, 8] as [number, number],
    mode: "bicubic" as const,
    paddingMode: "reflection" as const,
  };
  const model = tf.sequential({
    layers: [
      spatialTransformer({
        inputShape: [SIZE, SIZE, 1],
        ...options,
        localization: [
          tf.layers.flatten(),
          // A projective θ: 9 values, drawn small around a tilted identity so every mode term is live.
          tf.layers.dense({
            units: 9,
            kernelInitializer: tf.initializers.randomNormal({ stddev: 0.01, seed: 3 }),
            biasInitializer: identityProjective(),
          }),
        ],
      }),
    ],
  });
  const theta = (model.layers[0] as SpatialTransformer).localization!.predict(images) as tf.Tensor2D;
  assert.deepEqual(theta.shape, [2, 9]);
  const want = await spatialTransform(images, theta, options).data();
  const got = await (model.predict(images) as tf.Tensor).data();
  assert.deepEqual(got, want);
  const config = model.layers[0].getConfig();
  assert.equal(config.mode, "bicubic");
  assert.equal(config.paddingMode, "reflection");
  tf.dispose([images, theta]);
  model.dispose();
});

/**
 * tfjs's `file://` routes, which this library registers on import in Deno and Node: a user's own
 * model (a tf.sequential STN) saved with `model.save("file://…")` reloads with
 * `tf.loadLayersModel("file://…/model.json")` bit for bit, and `loadModel` hands it back as the
 * `tf.LayersModel` it is.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { identityAffine, isRnnspnModel, loadModel, selectBackend, spatialTransformer } from "../mod.ts";
import { fileRouter } from "../src/models/io.ts";

/** A user's STN classifier on 12×12 images, θ moved off the identity so that a lost θ would show. */
function userModel(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      spatialTransformer({
        inputShape: [12, 12, 1],
        outputSize: [6, 6],
        name: "stn",
        localization: [
          tf.layers.flatten(),
          tf.layers.dense({ units: 6, kernelInitializer: "zeros", biasInitializer: identityAffine() }),
        ],
      }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  tf.tidy(() =>
    model.setWeights(model.getWeights().map((w, i) => tf.add(w, tf.mul(0.01, tf.onesLike(w)).mul(i + 1))))
  );
  return model;
}

/** Every weight's bytes, in order. */
function weightBytes(model: tf.LayersModel): Uint8Array[] {
  return model.getWeights().map((w) => new Uint8Array((w.dataSync() as Float32Array).slice().buffer));
}

Deno.test("file://: a user's tf.sequential STN saves and reloads through tfjs's own API bit for bit", async () => {
  await selectBackend("cpu");
  const dir = await Deno.makeTempDir({ prefix: "rnnspn-file-url-" });
  try {
    const model = userModel();
    const result = await model.save(`file://${dir}/stn`);
    assert.equal(result.modelArtifactsInfo.modelTopologyType, "JSON");
    const names = [...Deno.readDirSync(`${dir}/stn`)].map((e) => e.name).sort();
    assert.deepEqual(names, ["manifest.json", "model.json", "weights.bin"]);
    const image = tf.randomUniform([2, 12, 12, 1], 0, 1, "float32", 4);
    const expected = model.predict(image) as tf.Tensor;
    const saved = JSON.parse(await Deno.readTextFile(`${dir}/stn/model.json`));
    for (const url of [`file://${dir}/stn/model.json`, `file://${dir}/stn`]) {
      const loaded = await tf.loadLayersModel(url);
      assert.deepEqual(weightBytes(loaded), weightBytes(model), `${url}: weights bit for bit`);
      assert.deepEqual(
        loaded.weights.map((w) => w.originalName),
        model.weights.map((w) => w.originalName),
      );
      const got = loaded.predict(image) as tf.Tensor;
      assert.deepEqual(await got.data(), await expected.data(), `${url}: same predictions`);
      // Saved again, byte-identical files: nothing was lost or changed on the way.
      await loaded.save(`file://${dir}/again`);
      assert.deepEqual(
        await Deno.readFile(`${dir}/again/weights.bin`),
        await Deno.readFile(`${dir}/stn/weights.bin`),
      );
      assert.deepEqual(
        JSON.parse(await Deno.readTextFile(`${dir}/again/model.json`)).modelTopology,
        saved.modelTopology,
      );
      got.dispose();
      loaded.dispose();
    }
    // The library's loadModel reads it too, as the tf.LayersModel it is; its strict form refuses it.
    const any = await loadModel(`${dir}/stn`);
    assert.ok(!isRnnspnModel(any) && any instanceof tf.LayersModel);
    assert.deepEqual(weightBytes(any), weightBytes(model));
    any.dispose();
    await assert.rejects(
      () => loadModel(`file://${dir}/stn/model.json`, { accept: "rnnspn" }),
      /stn\/model\.json has no "rnnspn" metadata \(kind and config\): not saved by @rnnspn\/core/,
    );
    tf.dispose([image, expected]);
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file://: tfjs-node's layout (no manifest, another .json name) loads; bad targets are named", async () => {
  await selectBackend("cpu");
  const dir = await Deno.makeTempDir({ prefix: "rnnspn-file-url-" });
  try {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    await model.save(`file://${dir}/m`);
    await Deno.remove(`${dir}/m/manifest.json`);
    await Deno.rename(`${dir}/m/model.json`, `${dir}/m/my-model.json`);
    const loaded = await tf.loadLayersModel(`file://${dir}/m/my-model.json`);
    assert.deepEqual(weightBytes(loaded), weightBytes(model));
    loaded.dispose();
    // A directory with someone else's files is never written into.
    await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
    await assert.rejects(
      () => model.save(`file://${dir}`),
      /is not empty and does not hold a model saved by @rnnspn\/core \(it holds .*notes\.txt.*Nothing was written/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "mine");
    await assert.rejects(
      () => tf.loadLayersModel(`file://${dir}/none/model.json`),
      /cannot read .*none\/model\.json/,
    );
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // The router claims file:// URLs only; the path is what follows the scheme, as in tfjs-node.
  assert.equal(fileRouter("https://example.com/model.json"), null);
  assert.equal(fileRouter(["file://a", "file://b"]), null);
  assert.equal(fileRouter("file://"), null);
  assert.equal(typeof fileRouter("file://runs/m")?.save, "function");
  assert.equal(tf.io.getSaveHandlers("file://runs/m").length, 1, "exactly one file:// save handler");
  assert.equal(
    tf.io.getLoadHandlers("file://runs/m/model.json").length,
    1,
    "exactly one file:// load handler",
  );
});

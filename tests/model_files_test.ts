/**
 * Saved model files: the manifest, topology validation before tfjs sees a file, metadata against
 * topology, strict configs, no leaks from failing constructors, saving only into a safe directory, and
 * the routes (paths, file:/http: URLs, tfjs IOHandlers, plain tf.loadLayersModel after importing mod.ts).
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import {
  CnnBaseline,
  createModel,
  fileIO,
  loadModel,
  RecurrentAttention,
  selectBackend,
  SpnBaseline,
} from "../mod.ts";
import { sha256Hex } from "../src/models/integrity.ts";
import { tinyModel } from "./_models.ts";

await selectBackend("cpu");

const tmp = (prefix: string) => Deno.makeTempDir({ prefix: `rnnspn-${prefix}-` });
const images = tf.randomUniform([2, 100, 100, 1], 0, 1, "float32", 5) as tf.Tensor4D;

/** The logits of `model` on the shared images, as a plain array. */
function logits(model: { predict: RecurrentAttention["predict"] }): Float32Array {
  const p = model.predict(images);
  const out = p.logits.dataSync() as Float32Array;
  tf.dispose([p.logits, p.probabilities, p.digits, p.theta ?? []]);
  return out;
}

/** Edits the metadata/topology of `dir`'s model.json and rewrites its manifest to match. */
async function editJson(dir: string, edit: (json: Json) => void): Promise<void> {
  const json = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  edit(json);
  await editModelJson(dir, () => JSON.stringify(json));
}
// deno-lint-ignore no-explicit-any
type Json = any;

/** Rewrites model.json of `dir` through `edit`, then its manifest (as a writer that means it would). */
async function editModelJson(dir: string, edit: (text: string) => string, manifest = true): Promise<void> {
  const text = edit(await Deno.readTextFile(`${dir}/model.json`));
  await Deno.writeTextFile(`${dir}/model.json`, text);
  if (!manifest) return await Deno.remove(`${dir}/manifest.json`);
  const m = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  const bytes = new TextEncoder().encode(text);
  m.files["model.json"] = { bytes: bytes.length, sha256: await sha256Hex(bytes) };
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(m));
}

/** Asserts that `load` rejects with `pattern` within `ms`. */
async function rejectsFast(load: () => Promise<unknown>, pattern: RegExp, ms = 1000): Promise<void> {
  const t0 = performance.now();
  await assert.rejects(load, pattern);
  const took = performance.now() - t0;
  assert.ok(took < ms, `took ${took.toFixed(0)} ms`);
}

Deno.test("save writes model.json, weights.bin and manifest.json; the manifest records both files", async () => {
  const dir = await tmp("manifest");
  const model = tinyModel("rnn-spn");
  const result = await model.save(`${dir}/m`);
  assert.deepEqual((await Array.fromAsync(Deno.readDir(`${dir}/m`))).map((e) => e.name).sort(), [
    "manifest.json",
    "model.json",
    "weights.bin",
  ]);
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/m/manifest.json`));
  for (const name of ["model.json", "weights.bin"]) {
    const bytes = await Deno.readFile(`${dir}/m/${name}`);
    assert.deepEqual(manifest.files[name], { bytes: bytes.length, sha256: await sha256Hex(bytes) }, name);
  }
  // tfjs's SaveResult, as tf.LayersModel.save gives it: the sizes of what was written.
  const info = result.modelArtifactsInfo;
  assert.equal(info.modelTopologyType, "JSON");
  assert.equal(info.weightDataBytes, (await Deno.stat(`${dir}/m/weights.bin`)).size);
  const json = JSON.parse(await Deno.readTextFile(`${dir}/m/model.json`));
  assert.equal(info.weightSpecsBytes, JSON.stringify(json.weightsManifest[0].weights).length);
  assert.equal(info.modelTopologyBytes, JSON.stringify(json.modelTopology).length);
  assert.ok(info.dateSaved instanceof Date);
  // A tfjs IOHandler's own result comes back unchanged.
  const own: tf.io.SaveResult = { modelArtifactsInfo: { ...info, dateSaved: new Date(0) } };
  assert.equal(await model.save({ save: () => Promise.resolve(own) }), own);
  // Nothing left beside it (no temp or aside directories).
  assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["m"]);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a flipped layer name in inbound_nodes fails in milliseconds on every route (was: tfjs spun forever)", async () => {
  const dir = await tmp("hang");
  const model = tinyModel("rnn-spn");
  const flip = (text: string) => text.replace('"inbound_nodes":[[["loc_gru"', '"inbound_nodes":[[["loc_grw"');
  // As written by a bit flip: the manifest catches it.
  await model.save(`${dir}/a`);
  await editModelJson(`${dir}/a`, flip, false);
  await Deno.copyFile(`${dir}/a/model.json`, `${dir}/a/model.json.flipped`);
  await model.save(`${dir}/b`);
  await Deno.copyFile(`${dir}/a/model.json.flipped`, `${dir}/b/model.json`);
  await rejectsFast(
    () => loadModel(`${dir}/b`, { accept: "rnnspn" }),
    /b\/model\.json is corrupt: SHA-256 [0-9a-f]+ != [0-9a-f]+ recorded in manifest\.json/,
  );
  await rejectsFast(() => tf.loadLayersModel(fileIO(`${dir}/b`)), /model\.json is corrupt: SHA-256/);
  // Without a manifest (saved before manifests existed) or with one rewritten to match: the structure check.
  const dangling =
    /layer "loc_theta" takes its input from \["loc_grw",0,0,\{\}\], which is not a node of any layer/;
  await rejectsFast(() => loadModel(`${dir}/a`, { accept: "rnnspn" }), dangling);
  await rejectsFast(() => RecurrentAttention.load(`${dir}/a`), dangling);
  await rejectsFast(() => tf.loadLayersModel(fileIO(`${dir}/a`)), dangling);
  await model.save(`${dir}/c`);
  await editModelJson(`${dir}/c`, flip);
  await rejectsFast(() => loadModel(`${dir}/c`, { accept: "rnnspn" }), dangling);
  // A cycle is refused too (tfjs would also wait for it forever).
  await model.save(`${dir}/d`);
  await editModelJson(
    `${dir}/d`,
    (t) => t.replace('"inbound_nodes":[[["loc_pool1"', '"inbound_nodes":[[["loc_conv3"'),
  );
  await rejectsFast(() => loadModel(`${dir}/d`, { accept: "rnnspn" }), /the topology has a cycle/);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("metadata that disagrees with the topology, or an edited topology, is refused before weights are set", async () => {
  const dir = await tmp("meta");
  const model = tinyModel("rnn-spn");
  await model.save(`${dir}/m`);
  const before = tf.memory().numTensors;
  const config = (json: Json) => json.userDefinedMetadata.rnnspn.config;
  await editJson(`${dir}/m`, (json) => config(json).steps = 4);
  await rejectsFast(
    () => loadModel(`${dir}/m`, { accept: "rnnspn" }),
    /its metadata says steps 4 but its topology has 3: metadata and topology disagree/,
  );
  await model.save(`${dir}/m`);
  await editJson(`${dir}/m`, (json) => config(json).locFilters = 4000000);
  await rejectsFast(
    () => loadModel(`${dir}/m`, { accept: "rnnspn" }),
    /metadata says locFilters 4000000 but its topology has 4/,
  );
  // A field that does not size anything (the seed) is caught by comparing with the rebuilt topology.
  await model.save(`${dir}/m`);
  await editJson(`${dir}/m`, (json) => config(json).seed = 4);
  await rejectsFast(
    () => loadModel(`${dir}/m`, { accept: "rnnspn" }),
    /its topology is not that of a rnn-spn model with its saved config \(file vs rebuilt at modelTopology\.config\.layers\[2\]\.config\.kernel_initializer\.config\.seed: 3 vs 4\)/,
  );
  // Unknown keys in the saved config are refused like in a constructor.
  await model.save(`${dir}/m`);
  await editJson(`${dir}/m`, (json) => config(json).stepz = 3);
  await rejectsFast(
    () => loadModel(`${dir}/m`, { accept: "rnnspn" }),
    /the saved config is not valid: .*unknown config key "stepz"/,
  );
  // A weight spec that does not fit the model.
  await model.save(`${dir}/m`);
  await editJson(`${dir}/m`, (json) => json.weightsManifest[0].weights[1].name = "loc_conv1/bian");
  await rejectsFast(
    () => loadModel(`${dir}/m`, { accept: "rnnspn" }),
    /weight 1 is loc_conv1\/bian \[4\] float32; the model expects loc_conv1\/bias/,
  );
  assert.equal(tf.memory().numTensors, before, "failed loads leave no tensors behind");
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("unknown config keys are errors; a constructor that throws leaks no tensors", () => {
  assert.throws(
    () => new RecurrentAttention({ stepz: 3 } as never),
    /unknown config key "stepz"; known: steps,/,
  );
  assert.throws(() => createModel("cnn", { steps: 3 }), /CnnBaseline: unknown config key "steps"/);
  assert.throws(
    () => new SpnBaseline({ gruUnits: 3, foo: 1 } as never),
    /unknown config keys "gruUnits", "foo"/,
  );
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    assert.throws(
      () => new RecurrentAttention({ downsampleFactor: 200 }),
      /the glimpse \(downsampleFactor 200\) is 0×0, too small for its conv\/pool stack/,
    );
    assert.throws(() => new SpnBaseline({ downsampleFactor: 200 }), /SpnBaseline: the glimpse/);
    assert.throws(
      () => new CnnBaseline({ inputSize: [12, 12] }),
      /CnnBaseline: inputSize is 12×12, too small/,
    );
    // Errors only the layers find (after earlier layers made their weights) are cleaned up too.
    assert.throws(() => new RecurrentAttention({ downsampleFactor: -1 }), /downsampleFactor/);
    assert.throws(() => new SpnBaseline({ downsampleFactor: Number.NaN }), /downsampleFactor/);
  }
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("save writes only into a missing or empty directory or one holding a saved model; nothing else is touched", async () => {
  const dir = await tmp("target");
  const model = tinyModel("cnn");
  await Deno.mkdir(`${dir}/notes`);
  await Deno.writeTextFile(`${dir}/notes/keep.txt`, "mine");
  await assert.rejects(
    () => model.save(`${dir}/notes`),
    /save model: .*notes is not empty and does not hold a model saved by @rnnspn\/core \(it holds keep\.txt\).*Nothing was written/,
  );
  // A directory with our file names plus something else is not ours either.
  await model.save(`${dir}/m`);
  await Deno.writeTextFile(`${dir}/m/extra.txt`, "mine");
  await assert.rejects(() => model.save(`${dir}/m`), /it holds extra\.txt/);
  await assert.rejects(() => model.save(fileIO(`${dir}/m`) as never), /it holds extra\.txt/);
  assert.equal(await Deno.readTextFile(`${dir}/m/extra.txt`), "mine");
  assert.equal(await Deno.readTextFile(`${dir}/notes/keep.txt`), "mine");
  await Deno.writeTextFile(`${dir}/file`, "x");
  await assert.rejects(() => model.save(`${dir}/file`), /file exists and is not a directory/);
  // An empty path, or one under a file: one line naming the path asked for (was: OS errors on temp names).
  await assert.rejects(
    () => model.save(""),
    /^Error: save model: the directory path is empty; nothing was written$/,
  );
  await assert.rejects(
    () => model.save(`${dir}/file/sub`),
    new RegExp(
      `^Error: save model: cannot create ${dir}/file/sub: ${dir}/file is a file, not a directory; nothing was written$`,
    ),
  );
  // A model.json of someone else's tfjs model is not ours.
  await Deno.mkdir(`${dir}/theirs`);
  await Deno.writeTextFile(`${dir}/theirs/model.json`, '{"modelTopology":{}}');
  await assert.rejects(() => model.save(`${dir}/theirs`), /does not hold a model saved by @rnnspn\/core/);
  // Allowed: empty, missing (parents made), our own (replaced), one saved before manifests existed.
  await Deno.mkdir(`${dir}/empty`);
  for (const target of [`${dir}/empty`, `${dir}/new/deeper`, `${dir}/empty`]) await model.save(target);
  await model.save(`${dir}/old`);
  await Deno.remove(`${dir}/old/manifest.json`);
  await model.save(`${dir}/old`);
  assert.equal(logits(await loadModel(`${dir}/old`, { accept: "rnnspn" })).length, 2 * 3 * 10);
  // No temp or aside directories survive.
  const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  assert.deepEqual(names, ["empty", "file", "m", "new", "notes", "old", "theirs"]);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("routes: file: URLs, http(s) URLs (manifest fetched too), tfjs IOHandlers; bad sources are named", async () => {
  const dir = await tmp("routes");
  const model = tinyModel("spn");
  const expected = logits(model);
  await model.save(new URL(`file://${dir}/a/`));
  await model.save(`file://${dir}/b`);
  for (
    const source of [
      `${dir}/a`,
      new URL(`file://${dir}/a/`),
      new URL(`file://${dir}/b/model.json`),
      `file://${dir}/b`,
    ]
  ) {
    const m = await loadModel(source, { accept: "rnnspn" });
    assert.deepEqual(logits(m), expected, String(source));
    m.dispose();
  }
  // Over HTTP: the manifest is fetched and checked as well.
  const requests: string[] = [];
  let corrupt = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    try {
      const bytes = await Deno.readFile(`${dir}${path}`);
      if (corrupt && path.endsWith("weights.bin")) bytes[7] ^= 1;
      return new Response(bytes);
    } catch {
      return new Response("no", { status: 404 });
    }
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    for (const url of [`${base}/a/model.json`, `${base}/a/`, new URL(`${base}/a`)]) {
      const m = await loadModel(url, { accept: "rnnspn" });
      assert.deepEqual(logits(m), expected, String(url));
      m.dispose();
    }
    assert.ok(requests.includes("/a/manifest.json"), requests.join(" "));
    corrupt = true;
    await assert.rejects(
      () => loadModel(`${base}/a/model.json`, { accept: "rnnspn" }),
      /a\/weights\.bin is corrupt: SHA-256/,
    );
    await assert.rejects(
      () => loadModel(`${base}/nothing/`, { accept: "rnnspn" }),
      /nothing\/model\.json: HTTP 404/,
    );
  } finally {
    await server.shutdown();
  }
  // Any tfjs IOHandler: the weights' record travels inside the metadata.
  let stored: tf.io.ModelArtifacts | undefined;
  const memory: tf.io.IOHandler = {
    save: (a) => {
      stored = a;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
    },
    load: () => Promise.resolve(stored!),
  };
  await model.save(memory);
  assert.match(
    JSON.stringify(stored!.userDefinedMetadata),
    /"weights":\{"bytes":\d+,"sha256":"[0-9a-f]{64}"\}/,
  );
  const viaHandler = await SpnBaseline.load(memory);
  assert.deepEqual(logits(viaHandler), expected);
  viaHandler.dispose();
  new Uint8Array(stored!.weightData as ArrayBuffer)[3] ^= 4;
  await assert.rejects(
    () => loadModel(memory, { accept: "rnnspn" }),
    /the given IOHandler: the weights is corrupt: SHA-256/,
  );
  await assert.rejects(
    () => loadModel(42 as never, { accept: "rnnspn" }),
    /source must be a directory path, a URL or a tf\.io\.IOHandler; got number/,
  );
  await assert.rejects(
    () => loadModel("nosuch://x", { accept: "rnnspn" }),
    /0 tfjs IO handlers for nosuch:\/\/x/,
  );
  await assert.rejects(() => model.save({} as tf.io.IOHandler), /the given IOHandler has no save\(\) method/);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("plain tfjs interop: after importing mod.ts, tf.loadLayersModel reads a saved model (custom layers registered)", async () => {
  const dir = await tmp("interop");
  const registered = tf.serialization.SerializationMap.getMap().classNameMap;
  for (
    const className of [
      "RnnspnRepeatedInputGRU",
      "RnnspnGlimpses",
      "RnnspnSplitSteps",
      "RnnspnSpatialTransformer",
    ]
  ) {
    assert.ok(registered[className], className);
  }
  // The models' convolutions deserialize as FastConv2D (same config and weights as tfjs's Conv2D).
  assert.equal((registered.Conv2D[0] as unknown as { name: string }).name, "FastConv2D");
  const model = tinyModel("rnn-spn");
  await model.save(`${dir}/m`);
  const plain = await tf.loadLayersModel(fileIO(`${dir}/m`));
  const [a, b] = [model.model.predict(images), plain.predict(images)] as tf.Tensor[][];
  assert.deepEqual(b[0].dataSync(), a[0].dataSync());
  assert.deepEqual(b[1].dataSync(), a[1].dataSync());
  tf.dispose([...a, ...b]);
  plain.dispose();
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a model saved before manifests (weights record at the top of model.json) still loads, still verified", async () => {
  const dir = await tmp("legacy");
  const model = tinyModel("cnn");
  const expected = logits(model);
  await model.save(`${dir}/m`);
  // The old layout: no manifest.json, the weights' length and SHA-256 under a top-level "rnnspn" key.
  const json = JSON.parse(await Deno.readTextFile(`${dir}/m/model.json`));
  const { bytes, sha256 } = json.userDefinedMetadata.rnnspn.weights;
  delete json.userDefinedMetadata.rnnspn.weights;
  json.rnnspn = { weightsBytes: bytes, weightsSha256: sha256 };
  await Deno.writeTextFile(`${dir}/m/model.json`, JSON.stringify(json));
  await Deno.remove(`${dir}/m/manifest.json`);
  const loaded = await loadModel(`${dir}/m`, { accept: "rnnspn" });
  assert.deepEqual(logits(loaded), expected);
  loaded.dispose();
  const weights = await Deno.readFile(`${dir}/m/weights.bin`);
  weights[5] ^= 2;
  await Deno.writeFile(`${dir}/m/weights.bin`, weights);
  await rejectsFast(
    () => loadModel(`${dir}/m`, { accept: "rnnspn" }),
    /weights\.bin is corrupt: SHA-256 [0-9a-f]+ != [0-9a-f]+ recorded in model\.json/,
  );
  // Saving over it is allowed (it is ours), and the result has a manifest.
  await model.save(`${dir}/m`);
  await Deno.stat(`${dir}/m/manifest.json`);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("quantized weights (uint8 specs with scale/min, as tfjs's converter writes them) load through the same checks", async () => {
  const model = tinyModel("cnn");
  let stored: tf.io.ModelArtifacts | undefined;
  const memory: tf.io.IOHandler = {
    save: (a) => {
      stored = a;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
    },
    load: () => Promise.resolve(stored!),
  };
  await model.save(memory);
  // Quantize every float32 weight to uint8 (the affine scheme of tfjs's quantization specs).
  const floats = new Float32Array(stored!.weightData as ArrayBuffer);
  const parts: Uint8Array[] = [];
  let offset = 0;
  const specs = stored!.weightSpecs!.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const v = floats.subarray(offset, offset + n);
    offset += n;
    const min = Math.min(...v);
    const scale = (Math.max(...v) - min) / 255 || 1;
    parts.push(Uint8Array.from(v, (x) => Math.round((x - min) / scale)));
    return { ...s, quantization: { dtype: "uint8" as const, scale, min } };
  });
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (data.set(p, o), o + p.length), 0);
  const { weights: _, ...meta } = (stored!.userDefinedMetadata as { rnnspn: Record<string, unknown> }).rnnspn;
  stored = { ...stored!, weightSpecs: specs, weightData: data.buffer, userDefinedMetadata: { rnnspn: meta } };
  const loaded = await loadModel(memory, { accept: "rnnspn" });
  const [a, b] = [logits(model), logits(loaded)];
  const worst = a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
  assert.ok(worst > 0 && worst < 0.05, `max |Δlogit| ${worst}`);
  loaded.dispose();
  // Too few bytes for the quantized specs: named, not a RangeError from tfjs.
  stored = { ...stored, weightData: data.slice(0, 100).buffer };
  await rejectsFast(
    () => loadModel(memory, { accept: "rnnspn" }),
    /the weights have 100 bytes, their specs need \d+/,
  );
  model.dispose();
});

Deno.test("a save killed at any moment leaves the previous model (or, between its two renames, its .old- copy)", async () => {
  const dir = await tmp("kill");
  const script = `${dir}/save_loop.ts`;
  await Deno.writeTextFile(
    script,
    `import { createModel, selectBackend } from "${new URL("../mod.ts", import.meta.url).href}";
await selectBackend("cpu");
const model = createModel("spn", { seed: 4 });
await model.save(Deno.args[0]);
console.log("ready");
for (;;) await model.save(Deno.args[0]);
`,
  );
  const config = new URL("../deno.json", import.meta.url).pathname;
  const reference = createModel("spn", { seed: 4 });
  const expected = logits(reference);
  reference.dispose();
  for (let kill = 0; kill < 3; kill++) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", "--config", config, script, `${dir}/m`],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read(); // "ready": one save done, overwriting it from now on
    await new Promise((r) => setTimeout(r, 150 + 170 * kill));
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
    const old = names.find((n) => n.startsWith("m.old-"));
    const source = names.includes("m") ? `${dir}/m` : old ? `${dir}/${old}` : undefined;
    assert.ok(source, `kill ${kill}: neither m nor m.old-* survived: ${names}`);
    const loaded = await loadModel(source, { accept: "rnnspn" });
    assert.deepEqual(logits(loaded), expected, `kill ${kill}`);
    loaded.dispose();
    if (!names.includes("m")) await Deno.rename(source, `${dir}/m`);
    for (const n of names.filter((n) => /^m\.(tmp|old)-/.test(n))) {
      await Deno.remove(`${dir}/${n}`, { recursive: true }).catch(() => {});
    }
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("fileIO: any tfjs LayersModel (Sequential too) round-trips with a manifest; re-saving into its directory is allowed", async () => {
  const dir = await tmp("fileio");
  const seq = tf.sequential({
    layers: [
      tf.layers.dense({
        units: 3,
        inputShape: [2],
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
    ],
  });
  await seq.save(fileIO(`${dir}/s`));
  await seq.save(fileIO(`${dir}/s`));
  await Deno.stat(`${dir}/s/manifest.json`);
  const again = await tf.loadLayersModel(fileIO(`${dir}/s`));
  const x = tf.tensor2d([[1, 2]]);
  const [a, b] = [seq.predict(x), again.predict(x)] as tf.Tensor[];
  assert.deepEqual(b.dataSync(), a.dataSync());
  tf.dispose([x, a, b]);
  // Not one of this library's models: loadModel says so.
  await assert.rejects(
    () => loadModel(`${dir}/s`, { accept: "rnnspn" }),
    /s\/model\.json has no "rnnspn" metadata \(kind and config\)/,
  );
  seq.dispose();
  again.dispose();
  await Deno.remove(dir, { recursive: true });
});

/** Sets `key` in the layer `layer`'s topology config and the metadata config alike (edited consistently). */
function setSize(json: Json, layer: string, key: string, field: string, value: unknown): void {
  json.userDefinedMetadata.rnnspn.config[field] = value;
  const l = json.modelTopology.config.layers.find((l: Json) => l.name === layer);
  l.config[key] = value;
}

Deno.test("edited sizes are refused before any layer is built: bounds, then the parameter count against the weights", async () => {
  const dir = await tmp("bounds");
  const model = tinyModel("rnn-spn");
  const before = tf.memory().numBytes;
  // gruUnits 1e6 in metadata and topology alike, the manifest removed (no hash to recompute): was 7 GB
  // and growing while building. steps 1e8 (no weight shape changes) loaded, then predict grew past 4 GB.
  for (
    const [layer, key, field, value, pattern] of [
      ["loc_gru", "units", "gruUnits", 1e6, /gruUnits must be an integer in \[1, 8192\]; got 1000000/],
      ["loc_gru", "units", "gruUnits", 1e7, /gruUnits must be an integer in \[1, 8192\]; got 10000000/],
      ["logits", "steps", "steps", 1e8, /steps must be an integer in \[1, 64\]; got 100000000/],
      // Within the bounds: the config's parameter count differs from the weights' (16 units were saved).
      [
        "loc_gru",
        "units",
        "gruUnits",
        8000,
        /describes a rnn-spn model of \d+ parameters but its weights hold \d+/,
      ],
    ] as const
  ) {
    await model.save(`${dir}/m`);
    await editJson(`${dir}/m`, (json) => setSize(json, layer, key, field, value));
    await Deno.remove(`${dir}/m/manifest.json`);
    await rejectsFast(() => loadModel(`${dir}/m`), pattern, 500);
  }
  assert.equal(tf.memory().numBytes, before, "nothing was allocated");
  // Weight specs claiming more than a model may have: refused before weights.bin is read.
  await model.save(`${dir}/m`);
  await editJson(`${dir}/m`, (json) => json.weightsManifest[0].weights[0].shape = [1e5, 1e5]);
  await rejectsFast(
    () => loadModel(`${dir}/m`),
    /its weight specs need \d+ bytes, more than the 268435456 a model may have/,
  );
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("swapped model.json and weights.bin: one line naming the file, no raw bytes", async () => {
  const dir = await tmp("swap");
  const model = tinyModel("cnn");
  await model.save(`${dir}/m`);
  await Deno.rename(`${dir}/m/model.json`, `${dir}/m/tmp`);
  await Deno.rename(`${dir}/m/weights.bin`, `${dir}/m/model.json`);
  await Deno.rename(`${dir}/m/tmp`, `${dir}/m/weights.bin`);
  const oneLine = async (pattern: RegExp) => {
    const err = await loadModel(`${dir}/m`).then(() => undefined, (e: Error) => e);
    assert.ok(err, "refused");
    assert.match(err.message, pattern);
    assert.ok(/^[\x20-\x7e]*$/.test(err.message), `one printable line: ${JSON.stringify(err.message)}`);
  };
  // Refused by the size manifest.json records, before it is read.
  await oneLine(/m\/model\.json has \d+ bytes, more than the \d+ expected; nothing was read/);
  await Deno.remove(`${dir}/m/manifest.json`);
  await oneLine(
    /m\/model\.json is not valid JSON \(truncated or corrupt\? \d+ bytes\): binary data, not JSON/,
  );
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("network reads are capped: an endless manifest.json or model.json stops at its limit", async () => {
  const dir = await tmp("endless");
  const model = tinyModel("cnn");
  await model.save(`${dir}/m`);
  const chunk = new Uint8Array(1 << 16).fill(32);
  let sent = 0;
  const endless = () =>
    new ReadableStream<Uint8Array>({
      pull(c) {
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
  let endlessFile = "manifest.json";
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const name = new URL(req.url).pathname.split("/").pop()!;
    if (name === endlessFile) return new Response(endless());
    return new Response(await Deno.readFile(`${dir}/m/${name}`));
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}/m/`;
    await rejectsFast(
      () => loadModel(base),
      /^Error: load model: http:.*\/m\/manifest\.json sends more than the 1048576 bytes expected; stopped reading$/,
      5000,
    );
    assert.ok(sent < 16 << 20, `${sent} bytes sent before the reader stopped`);
    // A model.json larger than its manifest records is cut at that size.
    endlessFile = "model.json";
    sent = 0;
    const recorded = JSON.parse(await Deno.readTextFile(`${dir}/m/manifest.json`)).files["model.json"].bytes;
    await rejectsFast(
      () => loadModel(base),
      new RegExp(`model\\.json sends more than the ${recorded} bytes expected`),
      5000,
    );
  } finally {
    await server.shutdown();
  }
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

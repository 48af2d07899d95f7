// ONNX export in Node: the Node build's exportOnnx, run by onnxruntime-web (its WASM backend in
// Node; from tests/ort, installed by `npm ci --prefix tests/ort`), against the library in Node and
// against Deno's export (the fixture's onnx/: same bytes, same probabilities and digits).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { fixture, lib, repoPath } from "./_helpers.mjs";

const ort = await import(
  pathToFileURL(repoPath("tests/ort/node_modules/onnxruntime-web/dist/ort.node.min.mjs")).href
)
  .catch((error) => {
    throw new Error(`onnxruntime-web is missing: run \`npm ci --prefix tests/ort\` first (${error.message})`);
  });
ort.env.wasm.numThreads = 1;

const { tf, createModel, exportOnnx, loadPretrained, selectBackend } = lib;

/** Largest |a − b| / max(1, max |b|). */
function relErr(a, b) {
  assert.equal(a.length, b.length);
  let err = 0, scale = 1;
  for (let i = 0; i < a.length; i++) {
    (err = Math.max(err, Math.abs(a[i] - b[i])), scale = Math.max(scale, Math.abs(b[i])));
  }
  return err / scale;
}

async function runOrt(bytes, images) {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ images: new ort.Tensor("float32", images.dataSync(), images.shape) });
  await session.release();
  return out;
}

test("the pretrained RNN-SPN exported in Node: Deno's bytes; under ORT the library's probabilities (1e-4) and digits", async () => {
  await selectBackend("wasm");
  const dir = await fixture("onnx");
  const expected = JSON.parse(await readFile(`${dir}/expected.json`, "utf8"));
  const pixels = new Float32Array((await readFile(`${dir}/images.f32`)).buffer.slice(0));
  // The weights from the checkout (the published package resolves them beside the module).
  const model = await loadPretrained(); // the copy deno task build put in dist/node
  const bytes = await exportOnnx(model);
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual(
    bytes,
    new Uint8Array(await readFile(`${dir}/rnn-spn-ds3.onnx`)),
    "Deno's export, byte for byte",
  );
  const images = tf.tensor4d(pixels, expected.shape);
  const out = await runOrt(bytes, images);
  const p = model.predict(images);
  const digits = Array.from(out.digits.data, Number);
  assert.deepEqual(digits, Array.from(p.digits.dataSync()), "ORT's digits = the library's in Node");
  assert.deepEqual(digits, expected.digits, "ORT's digits = the library's in Deno");
  const vsNode = relErr(out.probabilities.data, p.probabilities.dataSync());
  const vsDeno = relErr(out.probabilities.data, expected.probabilities);
  assert.ok(vsNode <= 1e-4 && vsDeno <= 1e-4, `max |Δp|: ${vsNode} (Node), ${vsDeno} (Deno)`);
  tf.dispose([images, p.logits, p.probabilities, p.digits, p.theta]);
  model.dispose();
});

for (const kind of ["rnn-spn", "spn", "cnn"]) {
  test(`a small ${kind} exported in Node runs under ORT with the library's outputs`, async () => {
    await selectBackend("wasm");
    const widths = {
      "rnn-spn": { locFilters: 4, gruUnits: 16, classifierFilters: 6, denseUnits: 32 },
      spn: { locFilters: 4, locDenseUnits: 16, classifierFilters: 6, denseUnits: 32 },
      cnn: { classifierFilters: 4, denseUnits: 16 },
    }[kind];
    const model = createModel(kind, { ...widths, seed: 4 });
    const images = tf.randomUniform([3, 100, 100, 1], 0, 1, "float32", 5);
    const out = await runOrt(await exportOnnx(model), images);
    const p = model.predict(images);
    assert.ok(relErr(out.logits.data, p.logits.dataSync()) <= 1e-4, "logits");
    assert.deepEqual(Array.from(out.digits.data, Number), Array.from(p.digits.dataSync()));
    assert.equal(out.theta === undefined, kind === "cnn");
    if (p.theta) assert.ok(relErr(out.theta.data, p.theta.dataSync()) <= 1e-4, "θ");
    tf.dispose([images, p.logits, p.probabilities, p.digits, p.theta].filter(Boolean));
    model.dispose();
  });
}

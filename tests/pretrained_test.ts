import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { tf } from "../src/tf.ts";
import {
  ClutteredMnist,
  evaluate,
  loadMnist,
  loadModel,
  loadPretrained,
  PRETRAINED_URL,
  RecurrentAttention,
  selectBackend,
} from "../mod.ts";
import { float16Bits, toFloat16Artifacts } from "../src/models/float16.ts";
import { saveArtifacts } from "../src/models/io.ts";
import { pretrainedCandidates, readSummaries } from "../scripts/summaries.ts";

await selectBackend("wasm");

/** tfjs's own decoding of half-precision bits (what a float16 model's loader does). */
function decodeHalf(bits: Uint16Array): Float32Array {
  const specs: tf.io.WeightsManifestEntry[] = [{
    name: "w",
    shape: [bits.length],
    dtype: "float32",
    quantization: { dtype: "float16" },
  }];
  const w = tf.io.decodeWeights(bits.slice().buffer, specs).w;
  const out = w.dataSync() as Float32Array;
  w.dispose();
  return out;
}

Deno.test("float16Bits: every finite half value round-trips through tfjs's decoder", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const values = decodeHalf(all);
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(values[h])) {
      assert.equal(float16Bits(values[h]) & 0x7c00, 0x7c00, `NaN ${h.toString(16)} stays NaN`);
      assert.notEqual(float16Bits(values[h]) & 0x3ff, 0);
      continue;
    }
    assert.equal(float16Bits(values[h]), h, `half ${h.toString(16)} (${values[h]})`);
  }
});

Deno.test("float16Bits: rounds to nearest, ties to even, overflows to infinity, underflows to zero", () => {
  assert.equal(float16Bits(1 + 2 ** -11), 0x3c00); // tie between 1 and 1 + 2⁻¹⁰: even (1)
  assert.equal(float16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie between 1 + 2⁻¹⁰ and 1 + 2·2⁻¹⁰: even
  assert.equal(float16Bits(1 + 2 ** -11 + 2 ** -20), 0x3c01); // just above the tie: up
  assert.equal(float16Bits(65504), 0x7bff);
  assert.equal(float16Bits(65520), 0x7c00); // rounds past the largest half
  assert.equal(float16Bits(-Infinity), 0xfc00);
  assert.equal(float16Bits(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(float16Bits(2 ** -26), 0x0000);
  assert.equal(float16Bits(-(2 ** -26)), 0x8000);
  assert.equal(float16Bits(3 * 2 ** -25), 0x0002); // subnormal tie (1.5 ulp): even
  // Random float32 values: the nearest half, within half an ulp.
  let seed = 12345;
  for (let i = 0; i < 20000; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const x = ((seed / 2 ** 32) - 0.5) * 2 ** ((seed % 30) - 15);
    const back = decodeHalf(new Uint16Array([float16Bits(x)]))[0];
    const ulp = 2 ** Math.max(-24, Math.floor(Math.log2(Math.abs(x))) - 10);
    assert.ok(Math.abs(back - Math.fround(x)) <= ulp / 2, `${x} → ${back}`);
  }
});

Deno.test("toFloat16Artifacts: half the weight bytes, and the model loads with weights rounded to float16", async () => {
  const model = new RecurrentAttention({ steps: 2, downsampleFactor: 4, seed: 3 });
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save({
    save(a) {
      captured = a;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
    },
  });
  const half = toFloat16Artifacts(captured!);
  assert.equal(
    (half.weightData as ArrayBuffer).byteLength * 2,
    (captured!.weightData as ArrayBuffer).byteLength,
  );
  const dir = await Deno.makeTempDir();
  try {
    await saveArtifacts(`${dir}/m`, half);
    const loaded = await loadModel(`${dir}/m`, { accept: "rnnspn" });
    assert.ok(loaded instanceof RecurrentAttention);
    const a = model.model.getWeights(), b = loaded.model.getWeights();
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) {
      const x = a[i].dataSync(), y = b[i].dataSync();
      for (let j = 0; j < x.length; j++) {
        assert.ok(Math.abs(x[j] - y[j]) <= Math.abs(x[j]) * 2 ** -11 + 2 ** -25, `weight ${i}[${j}]`);
      }
    }
    loaded.dispose();
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("toFloat16Artifacts: weights that do not fill weightData are an error", () => {
  const artifacts: tf.io.ModelArtifacts = {
    weightSpecs: [{ name: "w", shape: [4], dtype: "float32" }],
    weightData: new ArrayBuffer(12),
  };
  assert.throws(() => toFloat16Artifacts(artifacts), /weightData ends inside w/);
  assert.throws(() => toFloat16Artifacts({ ...artifacts, weightData: new ArrayBuffer(20) }), /4 bytes/);
});

// The shipped model: the best epoch of the RNN-SPN DS 3 row with the lowest validation error (the export
// records which), scored again here.
const provenance = JSON.parse(await readFile(new URL("../rnn-spn-ds3.json", PRETRAINED_URL), "utf8"));
const summaries = await readSummaries(fileURLToPath(new URL("../results", import.meta.url)));

Deno.test("loadPretrained: the shipped weights are the best RNN-SPN DS 3 row's best epoch", () => {
  const [best] = pretrainedCandidates(summaries.map((r) => r.summary));
  const hint = "re-export with scripts/export_pretrained.ts";
  assert.equal(provenance.row, best.row, `${best.row} now has the lowest validation error: ${hint}`);
  assert.equal(provenance.bestEpoch, best.bestEpoch, hint);
  assert.equal(provenance.testDigitError, best.testDigitError, hint);
});

Deno.test("loadPretrained: test error on the first 1,000 test sequences within 0.1 points of float32", async () => {
  const model = await loadPretrained();
  try {
    assert.equal(model.kind, "rnn-spn");
    assert.equal(model.config.downsampleFactor, 3);
    const data = new ClutteredMnist(await loadMnist(), provenance.data);
    const m = await evaluate(model, data, "test", { limit: 1000 });
    assert.ok(
      m.digitError <= provenance.first1000.float32DigitError + 0.001,
      `float16 ${m.digitError} vs float32 ${provenance.first1000.float32DigitError}`,
    );
    assert.ok(Math.abs(m.digitError - provenance.first1000.float16DigitError) <= 0.001);
  } finally {
    model.dispose();
  }
});

Deno.test("loadPretrained: a source that holds another kind of model is refused", async () => {
  const dir = await Deno.makeTempDir();
  const { SpnBaseline } = await import("../mod.ts");
  const spn = new SpnBaseline({ downsampleFactor: 4 });
  try {
    await spn.save(`${dir}/spn`);
    await assert.rejects(
      loadPretrained({ source: `${dir}/spn` }),
      /expected an RNN-SPN \(rnn-spn\) model, got spn/,
    );
  } finally {
    spn.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

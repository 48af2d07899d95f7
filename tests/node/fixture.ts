/**
 * What the Node and Chromium test groups compare against, computed by Deno from the same source:
 *
 * - `cluttered.json`: SHA-256 of 16 `ClutteredMnist` test samples (seed 1; float32 image bytes,
 *   then int32 label bytes, sample by sample) and their labels;
 * - `model/`: a small seeded RNN-SPN saved by `model.save` (`model.json` + `weights.bin`);
 * - `predictions.json`: its logits and θ on the first 4 of those samples, on cpu and on wasm both
 *   with the FMA kernels (`wasm-fma`, relaxed SIMD: Deno, Chromium, Node ≥ 22) and without
 *   (`wasm-simd128`: Node 20, Safari) — they round differently; each runtime compares bit for bit
 *   with the one it runs;
 * - `images.f32`: those 4 images, float32 little-endian `[4, 100, 100, 1]` (for the browser);
 * - `pretrained.json`: the digits `loadPretrained()` predicts for the first 200 test sequences of its
 *   own data (`pretrained/rnn-spn-ds3.json`'s seed and sizes), per wasm kernel set as above (the
 *   runtimes' default backend), their labels, and that digit error.
 * - `onnx/`: `exportOnnx(loadPretrained())` as `rnn-spn-ds3.onnx`, the first 32 test images
 *   (`images.f32`) and the library's probabilities and digits on them (`expected.json`, wasm) —
 *   what ONNX Runtime in Node and Chromium must give.
 *
 * Usage: `MNIST_DIR=../shared/mnist deno run -A tests/node/fixture.ts [--out .ci/out/fixture]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ClutteredMnist,
  createModel,
  exportOnnx,
  loadMnist,
  loadPretrained,
  PRETRAINED_URL,
  selectBackend,
} from "../../mod.ts";
import { tf } from "../../src/tf.ts";
import { fmaStatus, setFmaEnabled } from "../../src/kernels/wasm/fma.ts";

/** The seeded tiny RNN-SPN every runtime builds or loads (the widths of tests/_models.ts). */
export const FIXTURE_MODEL = {
  kind: "rnn-spn",
  config: { locFilters: 4, gruUnits: 16, classifierFilters: 6, denseUnits: 32, downsampleFactor: 3, seed: 3 },
} as const;

/** Test-split samples hashed, and how many of them are predicted. */
export const SAMPLES = 16;
export const PREDICTED = 4;
/** Test sequences the pretrained model predicts in every runtime. */
export const PRETRAINED_SAMPLES = 200;

/** SHA-256 (hex) of the samples' image bytes then label bytes, in order. */
export async function hashSamples(data: ClutteredMnist, count: number): Promise<string> {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const { image, labels } = data.sample("test", i);
    parts.push(new Uint8Array(image.buffer, image.byteOffset, image.byteLength));
    parts.push(new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength));
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (all.set(p, at), at += p.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Test sequences the ONNX checks run. */
export const ONNX_SAMPLES = 32;

/** `onnx/`: the exported pretrained model, its inputs and the library's outputs (see the module doc). */
async function writeOnnxFixture(dir: string, data: ClutteredMnist): Promise<void> {
  await mkdir(dir, { recursive: true });
  setFmaEnabled(fmaStatus().supported);
  await selectBackend("wasm");
  const model = await loadPretrained();
  await writeFile(join(dir, "rnn-spn-ds3.onnx"), await exportOnnx(model));
  const { images, labels } = data.batch("test", Array.from({ length: ONNX_SAMPLES }, (_, i) => i));
  const pixels = await images.data();
  await writeFile(
    join(dir, "images.f32"),
    new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength),
  );
  const p = model.predict(images);
  const expected = {
    samples: ONNX_SAMPLES,
    shape: images.shape,
    probabilities: Array.from(await p.probabilities.data()),
    digits: Array.from(await p.digits.data()),
    labels: Array.from(await labels.data()),
  };
  await writeFile(join(dir, "expected.json"), JSON.stringify(expected) + "\n");
  tf.dispose([images, labels, p.logits, p.probabilities, p.digits, p.theta!]);
  model.dispose();
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string", default: ".ci/out/fixture" } },
  });
  const out = values.out;
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });

  const mnist = await loadMnist({ dir: Deno.env.get("MNIST_DIR") ?? "../shared/mnist" });
  const data = new ClutteredMnist(mnist, { seed: 1 });
  const labels = Array.from({ length: SAMPLES }, (_, i) => Array.from(data.sample("test", i).labels));
  const cluttered = {
    seed: 1,
    split: "test",
    samples: SAMPLES,
    sha256: await hashSamples(data, SAMPLES),
    labels,
  };
  await writeFile(join(out, "cluttered.json"), JSON.stringify(cluttered, null, 1) + "\n");

  const predictions: Record<string, { logits: number[]; theta: number[] }> = {};
  let saved = false;
  const runs = [["wasm-fma", "wasm", true], ["wasm-simd128", "wasm", false], ["cpu", "cpu", false]] as const;
  for (const [key, backend, fma] of runs) {
    if (fma && !fmaStatus().supported) continue;
    setFmaEnabled(fma);
    await selectBackend(backend);
    const model = createModel(FIXTURE_MODEL.kind, FIXTURE_MODEL.config);
    if (!saved) (await model.save(join(out, "model")), saved = true);
    const { images } = data.batch("test", Array.from({ length: PREDICTED }, (_, i) => i));
    if (backend === "cpu") {
      const pixels = await images.data();
      await writeFile(
        join(out, "images.f32"),
        new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength),
      );
    }
    const p = model.predict(images);
    const theta = (p as { theta?: tf.Tensor }).theta;
    if (!theta) throw new Error("fixture: the RNN-SPN's prediction has no theta");
    predictions[key] = {
      logits: Array.from(await p.logits.data()),
      theta: Array.from(await theta.data()),
    };
    tf.dispose([images, p.logits, p.probabilities, p.digits, theta]);
    model.dispose();
  }
  await writeFile(
    join(out, "predictions.json"),
    JSON.stringify({ samples: PREDICTED, ...predictions }) + "\n",
  );

  // The shipped model on its own test split (its provenance names the data), as each runtime will
  // run it: loadPretrained() with no options, on the default backend's kernels.
  const provenance = JSON.parse(
    await Deno.readTextFile(new URL("../rnn-spn-ds3.json", PRETRAINED_URL)),
  ) as { data: { seed: number; sizes: Record<string, number> } };
  const pretrainedData = new ClutteredMnist(mnist, provenance.data);
  const indices = Array.from({ length: PRETRAINED_SAMPLES }, (_, i) => i);
  const pretrained: Record<string, unknown> = { samples: PRETRAINED_SAMPLES, data: provenance.data };
  for (const [key, backend, fma] of runs) {
    if (backend !== "wasm" || (fma && !fmaStatus().supported)) continue;
    setFmaEnabled(fma);
    await selectBackend(backend);
    const model = await loadPretrained();
    const { images, labels } = pretrainedData.batch("test", indices);
    pretrained.labels ??= Array.from(await labels.data());
    const p = model.predict(images);
    const digits = Array.from(await p.digits.data());
    const truth = pretrained.labels as number[];
    pretrained[key] = {
      digits,
      digitError: digits.filter((d, i) => d !== truth[i]).length / digits.length,
    };
    tf.dispose([images, labels, p.logits, p.probabilities, p.digits, p.theta]);
    model.dispose();
  }
  await writeFile(join(out, "pretrained.json"), JSON.stringify(pretrained) + "\n");

  await writeOnnxFixture(join(out, "onnx"), data);
  console.log(`fixture: ${out}/ (cluttered sha256 ${cluttered.sha256.slice(0, 16)}…)`);
}

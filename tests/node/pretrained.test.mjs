// The pretrained model from the Node build, as a user gets it: loadPretrained() with no options reads
// dist/node/pretrained/ beside the module; on 200 test sequences it predicts Deno's digits, and its
// digit error agrees with the test error its provenance records.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fixture, lib } from "./_helpers.mjs";

const { tf, ClutteredMnist, describeBackend, loadMnist, loadPretrained, PRETRAINED_URL, selectBackend } = lib;

/**
 * The largest distance from the recorded test error `p` that `n` digits allow: 4 binomial standard
 * deviations (n = 600: 0.021 around p = 0.0162). Digits of one sequence are not independent, so
 * this is looser than it looks; the exact comparison with Deno's digits is the sharp check.
 */
function errorBound(p, n) {
  return 4 * Math.sqrt(p * (1 - p) / n);
}

test("loadPretrained() with no options: Deno's digits on 200 test sequences, error as recorded", async () => {
  const backend = await selectBackend();
  const expected = await fixture("pretrained.json");
  const provenance = JSON.parse(await readFile(new URL("../rnn-spn-ds3.json", PRETRAINED_URL), "utf8"));
  assert.match(PRETRAINED_URL.href, /\/dist\/node\/pretrained\/rnn-spn-ds3\/model\.json$/);
  assert.deepEqual(
    expected.data,
    provenance.data,
    "the fixture and the shipped provenance name the same data",
  );
  const model = await loadPretrained();
  const mnist = await loadMnist({ dir: process.env.MNIST_DIR ?? "../shared/mnist" });
  const data = new ClutteredMnist(mnist, provenance.data);
  const indices = Array.from({ length: expected.samples }, (_, i) => i);
  const { images, labels } = data.batch("test", indices);
  const p = model.predict(images);
  const digits = Array.from(await p.digits.data());
  const truth = Array.from(await labels.data());
  tf.dispose([images, labels, p.logits, p.probabilities, p.digits, p.theta]);
  model.dispose();
  assert.deepEqual(truth, expected.labels, "the test sequences' labels are Deno's");
  const error = digits.filter((d, i) => d !== truth[i]).length / digits.length;
  const bound = errorBound(provenance.testDigitError, digits.length);
  assert.ok(
    Math.abs(error - provenance.testDigitError) <= bound,
    `digit error ${error} on ${digits.length} digits; recorded ${provenance.testDigitError} ± ${bound}`,
  );
  // Deno's digits from the same kernels: wasm with or without FMA, whichever this Node runs.
  assert.equal(backend, "wasm", "Node's default backend");
  const key = (await describeBackend()).fma ? "wasm-fma" : "wasm-simd128";
  assert.ok(expected[key], `the fixture has no ${key} digits`);
  assert.deepEqual(digits, expected[key].digits, `${key} digits equal Deno's`);
});

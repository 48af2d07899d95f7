// loadMnist and ClutteredMnist from Node: the same samples, byte for byte, as Deno's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fixture, lib } from "./_helpers.mjs";

const { ClutteredMnist, loadMnist } = lib;

async function hashSamples(data, count) {
  const parts = [];
  for (let i = 0; i < count; i++) {
    const { image, labels } = data.sample("test", i);
    parts.push(Buffer.from(image.buffer, image.byteOffset, image.byteLength));
    parts.push(Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength));
  }
  const digest = await crypto.subtle.digest("SHA-256", Buffer.concat(parts));
  return Buffer.from(digest).toString("hex");
}

test("loadMnist reads and verifies the four files (MNIST_DIR)", async () => {
  const mnist = await loadMnist({ dir: process.env.MNIST_DIR ?? "../shared/mnist" });
  assert.equal(mnist.train.labels.length, 60000);
  assert.equal(mnist.test.labels.length, 10000);
  assert.equal(mnist.test.images.length, 10000 * 28 * 28);
});

test("ClutteredMnist test samples hash to Deno's (seed 1)", async () => {
  const expected = await fixture("cluttered.json");
  const data = new ClutteredMnist(await loadMnist({ dir: process.env.MNIST_DIR ?? "../shared/mnist" }), {
    seed: expected.seed,
  });
  const labels = Array.from(
    { length: expected.samples },
    (_, i) => Array.from(data.sample("test", i).labels),
  );
  assert.deepEqual(labels, expected.labels);
  assert.equal(await hashSamples(data, expected.samples), expected.sha256);
});

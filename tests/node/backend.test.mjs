// selectBackend / describeBackend from Node, through the Node build.
import { test } from "node:test";
import assert from "node:assert/strict";
import { lib } from "./_helpers.mjs";

const { tf, selectBackend, describeBackend } = lib;

test("before any selectBackend, plain tfjs ops run (cpu is the default)", () => {
  const x = tf.add(tf.tensor1d([1, 2]), 1);
  assert.deepEqual(Array.from(x.dataSync()), [2, 3]);
  assert.equal(tf.getBackend(), "cpu");
  x.dispose();
});

for (const name of ["cpu", "wasm"]) {
  test(`selectBackend("${name}") makes ${name} active`, async () => {
    assert.equal(await selectBackend(name), name);
    assert.equal(tf.getBackend(), name);
    const info = await describeBackend();
    assert.equal(info.name, name);
    if (name === "wasm") {
      assert.equal(info.simd, true);
      assert.equal(info.threads, 1, "tfjs-backend-wasm runs single-threaded under Node");
    }
  });
}

test("selectBackend() skips webgpu (no navigator.gpu in Node) and takes wasm, saying why", async () => {
  assert.equal(await selectBackend(), "wasm");
  const info = await describeBackend();
  assert.match(info.skipped?.webgpu ?? "", /navigator\.gpu/);
});

test('selectBackend("webgpu") throws, naming what is missing', async () => {
  await assert.rejects(
    () => selectBackend("webgpu"),
    /webgpu was requested but this runtime has no navigator\.gpu/,
  );
});

import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { describeBackend, selectBackend } from "../mod.ts";
import { needs } from "./_backends.ts";

for (const name of ["cpu", "wasm", "webgpu"] as const) {
  Deno.test({
    name: `selectBackend("${name}") makes ${name} active`,
    ...needs(name),
    fn: async () => {
      assert.equal(await selectBackend(name), name);
      assert.equal(tf.getBackend(), name);
      const info = await describeBackend();
      assert.equal(info.name, name);
      console.log(`  ${name}: ${JSON.stringify(info)}`);
      if (name === "wasm") assert.equal(info.simd, true, "tfjs-backend-wasm should run its SIMD build");
    },
  });
}

Deno.test("selectBackend() picks the best available backend", async () => {
  const chosen = await selectBackend();
  const gpu = await navigator.gpu?.requestAdapter().catch(() => null);
  assert.equal(chosen, gpu ? "webgpu" : "wasm");
});

Deno.test("selectBackend rejects an unknown preference by name", async () => {
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => selectBackend("webgl" as any),
    /preference must be one of "auto", "webgpu", "wasm", "cpu"; got "webgl"/,
  );
});

Deno.test({
  name: "a small op chain gives identical results on cpu, wasm and webgpu",
  ...needs("webgpu"),
  fn: async () => {
    const results: Float32Array[] = [];
    for (const name of ["cpu", "wasm", "webgpu"] as const) {
      await selectBackend(name);
      const out = tf.tidy(() => {
        const x = tf.tensor2d([[1, -2, 3.5], [0.25, 4, -8]]);
        const w = tf.tensor2d([[0.5, 1], [2, -1], [-0.75, 0.125]]);
        return tf.relu(tf.matMul(x, w).add(tf.scalar(1)));
      });
      results.push(await out.data() as Float32Array);
      out.dispose();
    }
    assert.deepEqual(Array.from(results[1]), Array.from(results[0]));
    assert.deepEqual(Array.from(results[2]), Array.from(results[0]));
  },
});

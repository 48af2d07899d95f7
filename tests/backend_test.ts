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
      if (name === "wasm") {
        assert.equal(info.simd, true, "tfjs-backend-wasm should run its SIMD build");
        // Deno gets the single-threaded build (tfjs turns threads off where it sees `process`).
        assert.equal(info.threads, 1);
      }
    },
  });
}

Deno.test("selectBackend() takes webgpu only on a hardware adapter, and says why it skipped one", async () => {
  const chosen = await selectBackend();
  const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
  const info = await describeBackend();
  console.log(`  auto: ${JSON.stringify(info)}`);
  if (!adapter) {
    assert.equal(chosen, "wasm");
    assert.match(info.skipped?.webgpu ?? "", /no navigator\.gpu|no adapter/);
    return;
  }
  const text = [adapter.info.vendor, adapter.info.architecture, adapter.info.device, adapter.info.description]
    .join(" ");
  const software = /llvmpipe|lavapipe|swiftshader/i.test(text) ||
    (adapter.info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  assert.equal(chosen, software ? "wasm" : "webgpu");
  if (software) assert.match(info.skipped?.webgpu ?? "", /^software adapter \(.+\): slower than wasm$/);
});

Deno.test("selectBackend rejects an unknown preference by name", async () => {
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => selectBackend("webgl" as any),
    /preference must be one of "auto", "webgpu", "wasm", "cpu"; got "webgl"/,
  );
});

Deno.test("selectBackend rejects a wasmPaths that is not a string", async () => {
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => selectBackend("wasm", { wasmPaths: 3 as any }),
    /options\.wasmPaths must be a directory path or URL string; got number/,
  );
});

Deno.test("importing the library leaves cpu as tfjs's default: plain ops need no selectBackend", async () => {
  // A fresh process: this one has selected backends already.
  const code = `import ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
    import { tf } from ${JSON.stringify(new URL("../src/tf.ts", import.meta.url).href)};
    const x = tf.add(tf.tensor1d([1, 2]), 1);
    console.log(JSON.stringify({ backend: tf.getBackend(), values: Array.from(x.dataSync()) }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-prompt", "-A", "--ext=ts", code],
    cwd: new URL("..", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  assert.deepEqual(JSON.parse(lines.at(-1)!), { backend: "cpu", values: [2, 3] });
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

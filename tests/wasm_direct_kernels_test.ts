/**
 * The kernels that run on tfjs-backend-wasm's own heap (`wasm/direct`, `src/kernels/wasm/direct.ts`):
 * the built module can only be sound there if it owns no memory — it must import its memory, have no
 * data segments and never touch a mutable global (the shadow-stack pointer) — and the kernels that
 * use it must give bit for bit what their copying fallbacks give, freeing their scratch.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { WASM_DIRECT_KERNELS_BASE64 } from "../src/kernels/wasm/binary.ts";
import { directKernels, setDirectKernelsEnabled } from "../src/kernels/wasm/direct.ts";
import { prng } from "./_random.ts";
import { values } from "./_on_backend.ts";

const bytes = Uint8Array.from(atob(WASM_DIRECT_KERNELS_BASE64), (c) => c.charCodeAt(0));

/** The module's sections as [id, payload]. */
function sections(b: Uint8Array): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  let i = 8;
  while (i < b.length) {
    const id = b[i++];
    let size = 0, shift = 0, byte;
    do {
      byte = b[i++];
      size |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    out.push([id, b.subarray(i, i + size)]);
    i += size;
  }
  return out;
}

Deno.test("the direct module imports tfjs's memory and owns none: no memory or data section, no mutable global used", () => {
  const module = new WebAssembly.Module(bytes);
  assert.deepEqual(WebAssembly.Module.imports(module), [{ module: "env", name: "memory", kind: "memory" }]);
  const ids = sections(bytes).map(([id]) => id);
  for (const [id, what] of [[5, "memory"], [11, "data"], [12, "data count"]] as const) {
    assert.ok(!ids.includes(id), `a ${what} section`);
  }
  // Globals: count, then (type, mutability, init expr ending in 0x0b) each; record the mutable ones.
  const globals = sections(bytes).find(([id]) => id === 6)?.[1] ?? new Uint8Array();
  const mutable: number[] = [];
  for (let i = 1, g = 0; g < globals[0]; g++) {
    if (globals[i + 1] === 1) mutable.push(g);
    i += 2;
    while (globals[i] !== 0x0b) i++;
    i++;
  }
  assert.ok(globals[0] < 128 && mutable.every((g) => g < 128));
  // global.get (0x23) / global.set (0x24) of a mutable global: a conservative byte scan of the code
  // (a match inside an immediate would fail this test, never hide a real access).
  const code = sections(bytes).find(([id]) => id === 10)![1];
  for (let i = 0; i + 1 < code.length; i++) {
    if ((code[i] === 0x23 || code[i] === 0x24) && mutable.includes(code[i + 1])) {
      assert.fail(`code byte ${i}: global.${code[i] === 0x23 ? "get" : "set"} ${code[i + 1]} (mutable)`);
    }
  }
});

Deno.test("the direct kernels are active on the (single-threaded) wasm backend", async () => {
  await selectBackend("wasm");
  assert.ok(directKernels(tf.backend()) != null);
});

Deno.test("MaxPoolGrad and Sum on wasm: the direct kernels equal their copying fallbacks bit for bit and free their scratch", async () => {
  await selectBackend("wasm");
  const backend = tf.backend();
  for (
    const shape of [[1, 2, 2, 1], [2, 7, 9, 5], [3, 10, 6, 8], [1, 13, 11, 35]] as [
      number,
      number,
      number,
      number,
    ][]
  ) {
    const run = () => {
      const outs = tf.tidy(() => {
        const x = tf.tensor4d(values(prng(shape[3]), shape.reduce((a, b) => a * b)), shape);
        const dx = tf.grad((t: tf.Tensor) => {
          const y = tf.maxPool(t as tf.Tensor4D, 2, 2, "valid");
          return tf.sum(tf.mul(y, tf.tensor(values(prng(7), y.size), y.shape)));
        })(x);
        return [dx, tf.sum(x, [0, 1, 2]), tf.sum(x, [0]), tf.sum(x.reshape([-1, shape[3]]), 0)];
      });
      const data = outs.map((t) => t.dataSync().slice());
      tf.dispose(outs);
      return data;
    };
    run(); // tfjs caches a few constants on first use
    const ids = backend.numDataIds();
    const direct = run();
    assert.equal(backend.numDataIds(), ids, `[${shape}]: data left on the heap`);
    setDirectKernelsEnabled(false);
    try {
      const copied = run();
      direct.forEach((d, i) => assert.deepEqual(d, copied[i], `[${shape}] output ${i}`));
    } finally {
      setDirectKernelsEnabled(true);
    }
  }
});

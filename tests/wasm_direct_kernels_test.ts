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

Deno.test("the direct module imports its memory and owns none: no memory or data section, stack pointer 0", () => {
  const module = new WebAssembly.Module(bytes);
  assert.deepEqual(WebAssembly.Module.imports(module), [{ module: "env", name: "memory", kind: "memory" }]);
  const ids = sections(bytes).map(([id]) => id);
  for (const [id, what] of [[5, "memory"], [11, "data"], [12, "data count"], [8, "start"]] as const) {
    assert.ok(!ids.includes(id), `a ${what} section`);
  }
  // Every global (the stack pointer, __data_end, __heap_base) is an i32 initialised to 0: were a
  // kernel ever to need a stack frame, it would land at the top of the 4 GiB address space and trap
  // rather than overwrite tfjs's data (LLVM folds the stack pointer into constant addresses, so a
  // frame does not show up as a global access).
  const globals = sections(bytes).find(([id]) => id === 6)?.[1] ?? new Uint8Array();
  for (let i = 1, g = 0; g < globals[0]; g++) {
    // type i32 (0x7f), mutability, `i32.const 0` (0x41 0x00), end (0x0b)
    assert.deepEqual(
      [globals[i], globals[i + 2], globals[i + 3], globals[i + 4]],
      [0x7f, 0x41, 0x00, 0x0b],
      `global ${g}`,
    );
    i += 5;
  }
});

/** A small memory: its words outside the kernel's outputs must keep this value. */
const SENTINEL = 0x7fa5a5a5;

Deno.test("each direct kernel writes nothing but its outputs (run in a small sentinel-filled memory, odd shapes)", () => {
  const memory = new WebAssembly.Memory({ initial: 4 });
  const k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as unknown as Record<
      string,
      (...args: number[]) => void
    >;
  const words = new Int32Array(memory.buffer);
  const f32 = new Float32Array(memory.buffer);
  let next = 64; // bytes; buffers 4-byte aligned only, as tfjs's may be
  const alloc = (n: number, fill: (i: number) => number) => {
    const at = next;
    for (let i = 0; i < n; i++) f32[at / 4 + i] = fill(i);
    next += 4 * n + 12;
    return at;
  };
  const rand = prng(3);
  const check = (what: string, outputs: [number, number][]) => {
    for (let w = 0; w < words.length; w++) {
      const byte = 4 * w;
      if (outputs.some(([at, n]) => byte >= at && byte < at + 4 * n)) continue;
      if (byte < next && byte >= 64) continue; // inputs (read only, checked below) and their padding
      assert.equal(words[w], SENTINEL, `${what}: word at byte ${byte} overwritten`);
    }
  };
  for (const [b, h, w, c] of [[1, 2, 2, 1], [2, 5, 7, 6], [1, 6, 4, 13]]) {
    words.fill(SENTINEL);
    next = 64;
    const n = b * h * w * c, m = b * (h >> 1) * (w >> 1) * c;
    const x = alloc(n, () => rand()), g = alloc(m, () => rand() - 0.5), dx = alloc(n, () => 0);
    const before = f32.slice(64 / 4, dx / 4);
    k.max_pool_grad_2x2_f32(x, g, dx, b, h, w, c);
    check(`max_pool_grad [${b},${h},${w},${c}]`, [[dx, n]]);
    assert.deepEqual(f32.slice(64 / 4, dx / 4), before, "inputs unchanged");
    const rows = b * h * w;
    const y = alloc(rows * c, () => Math.max(0, rand() - 0.5)), dz = alloc(rows * c, () => 0);
    const db = alloc(c, () => 0), total = alloc(2 * c + 2, () => 0), part = alloc(c, () => 0);
    const t8 = total + (total % 8 ? 4 : 0);
    k.relu_bias_grad_f32(x, y, dz, db, part, t8, rows, c);
    k.column_sums_f32(x, db, part, t8, rows, c);
    check(`relu_bias_grad / column_sums [${rows},${c}]`, [[dx, n], [dz, rows * c], [db, c], [
      total,
      2 * c + 2,
    ], [
      part,
      c,
    ]]);
  }
});

Deno.test("gemm_f32 writes nothing but its output and computes A·b for both strides of A (sentinel memory)", () => {
  const memory = new WebAssembly.Memory({ initial: 8 });
  const k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as unknown as { gemm_f32(...args: number[]): void };
  const words = new Int32Array(memory.buffer);
  const f32 = new Float32Array(memory.buffer);
  const rand = prng(21);
  // m: tiles of 4 and single rows; n: 8-wide panels, 4-wide and scalar columns; k: past one pass.
  for (const [m, n, kk] of [[1, 1, 1], [5, 19, 3], [6, 8, 300], [9, 27, 2], [4, 4, 513]]) {
    for (const transposed of [false, true]) {
      words.fill(SENTINEL);
      const av = values(rand, m * kk), bv = values(rand, kk * n);
      // 4-byte aligned only, as tfjs's buffers may be.
      const a = 68, b = a + 4 * m * kk + 4, out = b + 4 * kk * n + 4;
      f32.set(av, a / 4);
      f32.set(bv, b / 4);
      // A[i, l] is av[i * kk + l], or av[l * m + i] when stored transposed.
      k.gemm_f32(a, b, out, m, n, kk, transposed ? 1 : kk, transposed ? m : 1);
      const what = `gemm [${m},${kk}]·[${kk},${n}] transposed ${transposed}`;
      for (let w = 0; w < words.length; w++) {
        const byte = 4 * w;
        if ((byte >= a && byte < a + 4 * m * kk) || (byte >= b && byte < b + 4 * kk * n)) continue;
        if (byte >= out && byte < out + 4 * m * n) continue;
        assert.equal(words[w], SENTINEL, `${what}: word at byte ${byte} overwritten`);
      }
      assert.deepEqual(f32.slice(a / 4, a / 4 + m * kk), av, `${what}: a unchanged`);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let want = 0;
          for (let l = 0; l < kk; l++) want += av[transposed ? l * m + i : i * kk + l] * bv[l * n + j];
          const got = f32[out / 4 + i * n + j];
          assert.ok(
            Math.abs(got - want) <= 1e-5 * Math.sqrt(kk) * Math.max(1, Math.abs(want)),
            `${what} [${i},${j}]`,
          );
        }
      }
    }
  }
});

Deno.test("the narrow convolution kernels write nothing but their outputs (sentinel-filled memory, odd shapes)", () => {
  const memory = new WebAssembly.Memory({ initial: 4 });
  const k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as unknown as Record<string, (...args: number[]) => void>;
  const words = new Int32Array(memory.buffer);
  const f32 = new Float32Array(memory.buffer);
  const rand = prng(5);
  for (const [b, h, w, co] of [[1, 3, 3, 1], [2, 5, 7, 6], [1, 6, 4, 13], [2, 7, 12, 8]]) {
    words.fill(SENTINEL);
    let next = 64; // bytes; buffers 4-byte aligned only, as tfjs's may be
    const alloc = (n: number) => {
      const at = next;
      for (let i = 0; i < n; i++) f32[at / 4 + i] = rand() - 0.5;
      next += 4 * n + 12;
      return at;
    };
    const [oh, ow] = [h - 2, w - 2];
    const x = alloc(b * h * w), f = alloc(9 * co), bias = alloc(co), dy = alloc(b * oh * ow * co);
    const inputsEnd = next;
    const before = f32.slice(16, inputsEnd / 4);
    const y = alloc(b * oh * ow * co), dx = alloc(b * h * w), dx2 = alloc(b * h * w), row = alloc(4 * w);
    const dw = alloc(9 * co), total = alloc(2 * 9 * co + 2), part = alloc(9 * co);
    // The general ∂x kernel with 2 input channels, a 2×3 filter and padding (dy as large as x).
    const f2 = alloc(2 * 3 * 2 * co), dyPad = alloc(b * h * w * co), dx3 = alloc(b * h * w * 2);
    const t8 = total + (total % 8 ? 4 : 0);
    k.conv3x3_c1_f32(x, f, bias, y, b, h, w, co, 1, 1);
    k.conv3x3_c1_backprop_input_f32(dy, f, dx, row, b, h, w, co);
    k.conv_narrow_backprop_input_f32(dy, f, dx2, b, h, w, 1, oh, ow, co, 3, 3, 0, 0);
    k.conv3x3_c1_backprop_filter_f32(x, dy, dw, part, t8, b, h, w, co);
    k.conv_narrow_backprop_input_f32(dyPad, f2, dx3, b, h, w, 2, h, w, co, 2, 3, 1, 2);
    for (let wi = 0; wi < words.length; wi++) {
      const byte = 4 * wi;
      if (byte < next && byte >= 64) continue; // inputs (checked below), outputs, scratch, padding
      assert.equal(words[wi], SENTINEL, `[${b},${h},${w}] → ${co}: word at byte ${byte} overwritten`);
    }
    assert.deepEqual(f32.slice(16, inputsEnd / 4), before, "inputs unchanged");
    // The 3×3 kernel and the general one agree on ∂x (they sum in different orders).
    const [a, c] = [f32.slice(dx / 4, dx / 4 + b * h * w), f32.slice(dx2 / 4, dx2 / 4 + b * h * w)];
    a.forEach((v, i) => assert.ok(Math.abs(v - c[i]) < 1e-5, `∂x[${i}]: ${v} vs ${c[i]}`));
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

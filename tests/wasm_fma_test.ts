/**
 * The fused multiply-add (relaxed SIMD) kernels (`wasm/fma`, `src/kernels/wasm/fma.ts`): the module
 * must own no memory (it runs on tfjs's heap and on our module's), each kernel must write nothing
 * but its outputs, and every kernel routed to it must match tfjs-cpu with FMA on and off.
 *
 * Bounds. A dot product of K float32 terms, summed in any order with every product and sum rounded
 * (round to nearest, unit roundoff u = 2⁻²⁴), is off from the exact value by at most
 * γ_K · Σ|aᵢbᵢ|, γ_K = K·u / (1 − K·u) (Higham, Accuracy and Stability of Numerical Algorithms,
 * §3.1). A fused multiply-add drops a rounding (the product's), so the same γ_K bounds it: FMA
 * needs no looser test than SIMD128, and the kernel tests below check exactly that bound against a
 * float64 reference. The tfjs-level tests keep the bounds of the SIMD128 tests
 * (`wasm_batch_mat_mul_test.ts`, `wasm_winograd_test.ts`) for both paths.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { createModel, describeBackend, selectBackend } from "../mod.ts";
import { WASM_FMA_KERNELS_BASE64 } from "../src/kernels/wasm/binary.ts";
import { type FmaKernels, fmaStatus, setFmaEnabled } from "../src/kernels/wasm/fma.ts";
import { winogradSettings, type WinogradTile } from "../src/kernels/wasm/winograd.ts";
import { createOptimizer } from "../src/train/optimizer.ts";
import { trainStep } from "../src/train/step.ts";
import { tinyModel } from "./_models.ts";
import { prng } from "./_random.ts";
import { on, relErr, values } from "./_on_backend.ts";

const bytes = Uint8Array.from(atob(WASM_FMA_KERNELS_BASE64), (c) => c.charCodeAt(0));
const U = 2 ** -24;
const gamma = (k: number) => k * U / (1 - k * U);

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

Deno.test("the FMA module imports its memory and owns none; Deno 2.9 validates it", () => {
  assert.ok(fmaStatus().supported, "Deno 2.9's V8 runs relaxed SIMD: the module must validate");
  const module = new WebAssembly.Module(bytes);
  assert.deepEqual(WebAssembly.Module.imports(module), [{ module: "env", name: "memory", kind: "memory" }]);
  assert.deepEqual(
    WebAssembly.Module.exports(module).filter((e) => e.kind === "function").map((e) => e.name).sort(),
    [
      "conv2d_backprop_filter_f32",
      "conv3x3_c1_backprop_filter_f32",
      "conv3x3_c1_backprop_input_f32",
      "conv3x3_c1_f32",
      "gemm_f32",
      "winograd_gemm_nn",
      "winograd_gemm_tn",
    ],
  );
  const ids = sections(bytes).map(([id]) => id);
  for (const [id, what] of [[5, "memory"], [11, "data"], [12, "data count"], [8, "start"]] as const) {
    assert.ok(!ids.includes(id), `a ${what} section`);
  }
  // Every global (the stack pointer) is an i32 initialised to 0, as in wasm/direct: a stack frame
  // would land at the top of the address space and trap.
  const globals = sections(bytes).find(([id]) => id === 6)?.[1] ?? new Uint8Array();
  for (let i = 1, g = 0; g < globals[0]; g++) {
    assert.deepEqual([globals[i], globals[i + 2], globals[i + 3], globals[i + 4]], [0x7f, 0x41, 0x00, 0x0b]);
    i += 5;
  }
});

const SENTINEL = 0x7fa5a5a5;

/** A sentinel-filled memory with the FMA kernels on it and a bump allocator (4-byte aligned). */
function sandbox() {
  const memory = new WebAssembly.Memory({ initial: 8 });
  const k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as unknown as FmaKernels;
  const words = new Int32Array(memory.buffer);
  words.fill(SENTINEL);
  const f32 = new Float32Array(memory.buffer);
  let next = 64;
  const alloc = (data: Float32Array | number) => {
    const at = next, n = typeof data === "number" ? data : data.length;
    if (typeof data !== "number") f32.set(data, at / 4);
    next += 4 * n + 12;
    return at;
  };
  /** Checks that every word outside `outputs` ([byte offset, floats]) and the inputs kept its value. */
  const untouched = (what: string, inputs: [number, Float32Array][], outputs: [number, number][]) => {
    for (const [at, data] of inputs) {
      assert.deepEqual(f32.subarray(at / 4, at / 4 + data.length), data, `${what}: an input changed`);
    }
    const owned = [...inputs.map(([at, d]) => [at, d.length]), ...outputs];
    for (let w = 16; w < words.length; w++) {
      if (owned.some(([at, n]) => 4 * w >= at && 4 * w < at + 4 * n)) continue;
      if (words[w] !== SENTINEL) assert.fail(`${what}: wrote word ${w} outside its outputs`);
    }
  };
  return { k, f32, alloc, untouched };
}

/** Asserts |got − exact| ≤ γ_K·(Σ|terms|) per element. */
function withinGamma(what: string, got: ArrayLike<number>, exact: number[], absSum: number[], k: number) {
  for (let i = 0; i < exact.length; i++) {
    const bound = gamma(k) * absSum[i];
    assert.ok(
      Math.abs(got[i] - exact[i]) <= bound,
      `${what}[${i}]: ${got[i]} vs exact ${exact[i]} (bound ${bound})`,
    );
  }
}

Deno.test("each FMA kernel writes only its outputs and is within γ_K·Σ|aᵢbᵢ| of the exact result", () => {
  const rand = prng(11);
  // gemm_f32, a·b and aᵀ·b; k > 256 crosses a k block; n = 8·2 + 4 + 3 covers every column path.
  for (const transposeA of [false, true]) {
    const { k, f32, alloc, untouched } = sandbox();
    const [m, kk, n] = [7, 300, 23];
    const a = values(rand, m * kk), b = values(rand, kk * n);
    const [ap, bp, op] = [alloc(a), alloc(b), alloc(m * n)];
    k.gemm_f32(ap, bp, op, m, n, kk, transposeA ? 1 : kk, transposeA ? m : 1);
    const exact: number[] = [], abs: number[] = [];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, t = 0;
        for (let l = 0; l < kk; l++) {
          const p = (transposeA ? a[l * m + i] : a[i * kk + l]) * b[l * n + j];
          s += p;
          t += Math.abs(p);
        }
        exact.push(s);
        abs.push(t);
      }
    }
    withinGamma(`gemm_f32 transposeA=${transposeA}`, f32.subarray(op / 4, op / 4 + m * n), exact, abs, kk);
    untouched("gemm_f32", [[ap, a], [bp, b]], [[op, m * n]]);
  }
  // winograd_gemm_nn: C = A·B with B packed in panels of 8 columns; 23 columns = 8 + 8 + 7 (a
  // partial panel), 7 rows = 6 + 1, k = 9 = two unrolled steps of 4 and one more.
  {
    const { k, f32, alloc, untouched } = sandbox();
    const [m, kk, n] = [7, 9, 23];
    const a = values(rand, m * kk), b = values(rand, kk * n);
    const packed = new Float32Array(kk * 24);
    for (let l = 0; l < kk; l++) {
      for (let j = 0; j < n; j++) packed[Math.floor(j / 8) * kk * 8 + l * 8 + (j % 8)] = b[l * n + j];
    }
    const [ap, bp, cp] = [alloc(a), alloc(packed), alloc(m * n)];
    k.winograd_gemm_nn(ap, bp, cp, m, kk, n);
    const exact: number[] = [], abs: number[] = [];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, t = 0;
        for (let l = 0; l < kk; l++) {
          (s += a[i * kk + l] * b[l * n + j]), (t += Math.abs(a[i * kk + l] * b[l * n + j]));
        }
        exact.push(s);
        abs.push(t);
      }
    }
    withinGamma("winograd_gemm_nn", f32.subarray(cp / 4, cp / 4 + m * n), exact, abs, kk);
    untouched("winograd_gemm_nn", [[ap, a], [bp, packed]], [[cp, m * n]]);
  }
  // winograd_gemm_tn: C += Aᵀ·B; C's old value is one more term.
  {
    const { k, f32, alloc, untouched } = sandbox();
    const [t, m, n] = [9, 6, 22];
    const a = values(rand, t * m), b = values(rand, t * n), c0 = values(rand, m * n);
    const [ap, bp, cp] = [alloc(a), alloc(b), alloc(c0)];
    k.winograd_gemm_tn(ap, bp, cp, t, m, n);
    const exact: number[] = [], abs: number[] = [];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = c0[i * n + j], u = Math.abs(s);
        for (let l = 0; l < t; l++) {
          (s += a[l * m + i] * b[l * n + j]), (u += Math.abs(a[l * m + i] * b[l * n + j]));
        }
        exact.push(s);
        abs.push(u);
      }
    }
    const got = f32.slice(cp / 4, cp / 4 + m * n);
    withinGamma("winograd_gemm_tn", got, exact, abs, t + 1);
    untouched("winograd_gemm_tn", [[ap, a], [bp, b]], [[cp, m * n]]);
  }
  // conv2d_backprop_filter_f32 on a padded x: stride 2×1, 3×2 filter, 18 rows = 4·4 + 2, co = 13.
  {
    const { k, f32, alloc, untouched } = sandbox();
    const [b, hp, wp, ci, kh, kw, sh, sw, co] = [2, 7, 8, 3, 3, 2, 2, 1, 13];
    const oh = Math.floor((hp - kh) / sh) + 1, ow = Math.floor((wp - kw) / sw) + 1;
    const x = values(rand, b * hp * wp * ci), dy = values(rand, b * oh * ow * co);
    const [xp, dyp, dwp] = [alloc(x), alloc(dy), alloc(kh * kw * ci * co)];
    k.conv2d_backprop_filter_f32(xp, dyp, dwp, b, hp, wp, ci, oh, ow, co, kh, kw, sh, sw);
    const exact: number[] = [], abs: number[] = [];
    for (let r = 0; r < kh; r++) {
      for (let q = 0; q < kw; q++) {
        for (let i = 0; i < ci; i++) {
          for (let o = 0; o < co; o++) {
            let s = 0, u = 0;
            for (let bi = 0; bi < b; bi++) {
              for (let y = 0; y < oh; y++) {
                for (let z = 0; z < ow; z++) {
                  const p = x[((bi * hp + y * sh + r) * wp + z * sw + q) * ci + i] *
                    dy[((bi * oh + y) * ow + z) * co + o];
                  s += p;
                  u += Math.abs(p);
                }
              }
            }
            exact.push(s);
            abs.push(u);
          }
        }
      }
    }
    const n = kh * kw * ci * co;
    withinGamma("conv2d_backprop_filter_f32", f32.subarray(dwp / 4, dwp / 4 + n), exact, abs, b * oh * ow);
    untouched("conv2d_backprop_filter_f32", [[xp, x], [dyp, dy]], [[dwp, n]]);
  }
  // The one-channel 3×3 kernels: 2 images of 6×9, co = 11 (two groups of 4, three scalar channels).
  const [b, h, wd, co] = [2, 6, 9, 11], [oh, ow] = [4, 7];
  const tap = (u: number, v: number, c: number) => (u * 3 + v) * co + c;
  {
    const { k, f32, alloc, untouched } = sandbox();
    const x = values(rand, b * h * wd), w = values(rand, 9 * co), bias = values(rand, co);
    const [xp, wp, bp, yp] = [alloc(x), alloc(w), alloc(bias), alloc(b * oh * ow * co)];
    k.conv3x3_c1_f32(xp, wp, bp, yp, b, h, wd, co, 1, 0);
    const exact: number[] = [], abs: number[] = [];
    for (let bi = 0; bi < b; bi++) {
      for (let y = 0; y < oh; y++) {
        for (let z = 0; z < ow; z++) {
          for (let c = 0; c < co; c++) {
            let s = bias[c], t = Math.abs(bias[c]);
            for (let u = 0; u < 3; u++) {
              for (let v = 0; v < 3; v++) {
                const p = x[(bi * h + y + u) * wd + z + v] * w[tap(u, v, c)];
                s += p;
                t += Math.abs(p);
              }
            }
            exact.push(s);
            abs.push(t);
          }
        }
      }
    }
    withinGamma("conv3x3_c1_f32", f32.subarray(yp / 4, yp / 4 + exact.length), exact, abs, 10);
    untouched("conv3x3_c1_f32", [[xp, x], [wp, w], [bp, bias]], [[yp, exact.length]]);
  }
  {
    const { k, f32, alloc, untouched } = sandbox();
    const x = values(rand, b * h * wd), dy = values(rand, b * oh * ow * co);
    const [xp, dyp, dwp, partp] = [alloc(x), alloc(dy), alloc(9 * co), alloc(9 * co)];
    const totalp = alloc(2 * 9 * co + 2) + 4 & ~7; // 9·co doubles, 8-byte aligned
    k.conv3x3_c1_backprop_filter_f32(xp, dyp, dwp, partp, totalp, b, h, wd, co);
    const exact: number[] = [], abs: number[] = [];
    for (let u = 0; u < 3; u++) {
      for (let v = 0; v < 3; v++) {
        for (let c = 0; c < co; c++) {
          let s = 0, t = 0;
          for (let bi = 0; bi < b; bi++) {
            for (let y = 0; y < oh; y++) {
              for (let z = 0; z < ow; z++) {
                const p = x[(bi * h + y + u) * wd + z + v] * dy[((bi * oh + y) * ow + z) * co + c];
                s += p;
                t += Math.abs(p);
              }
            }
          }
          exact.push(s);
          abs.push(t);
        }
      }
    }
    // One image's products in float32, then the images' sums in float64 and one final rounding.
    withinGamma(
      "conv3x3_c1_backprop_filter_f32",
      f32.subarray(dwp / 4, dwp / 4 + 9 * co),
      exact,
      abs,
      oh * ow + 2,
    );
    untouched("conv3x3_c1_backprop_filter_f32", [[xp, x], [dyp, dy]], [[dwp, 9 * co], [partp, 9 * co], [
      totalp,
      2 * 9 * co,
    ]]);
  }
  {
    const { k, f32, alloc, untouched } = sandbox();
    const dy = values(rand, b * oh * ow * co), w = values(rand, 9 * co);
    const [dyp, wp, dxp, rowp] = [alloc(dy), alloc(w), alloc(b * h * wd), alloc(4 * wd)];
    k.conv3x3_c1_backprop_input_f32(dyp, wp, dxp, rowp, b, h, wd, co);
    const exact: number[] = [], abs: number[] = [];
    for (let bi = 0; bi < b; bi++) {
      for (let iy = 0; iy < h; iy++) {
        for (let ix = 0; ix < wd; ix++) {
          let s = 0, t = 0;
          for (let u = 0; u < 3; u++) {
            for (let v = 0; v < 3; v++) {
              const [y, z] = [iy - u, ix - v];
              if (y < 0 || y >= oh || z < 0 || z >= ow) continue;
              for (let c = 0; c < co; c++) {
                const p = dy[((bi * oh + y) * ow + z) * co + c] * w[tap(u, v, c)];
                s += p;
                t += Math.abs(p);
              }
            }
          }
          exact.push(s);
          abs.push(t);
        }
      }
    }
    withinGamma(
      "conv3x3_c1_backprop_input_f32",
      f32.subarray(dxp / 4, dxp / 4 + exact.length),
      exact,
      abs,
      9 * co,
    );
    untouched("conv3x3_c1_backprop_input_f32", [[dyp, dy], [wp, w]], [[dxp, exact.length], [rowp, 4 * wd]]);
  }
});

/**
 * Whether this engine fuses `relaxed_madd` (it may also round twice): (1 + 2⁻¹²)² − 1 is
 * 2⁻¹¹ + 2⁻²⁴ fused, 2⁻¹¹ with the product rounded first.
 */
function engineFuses(): boolean {
  const { k, f32, alloc } = sandbox();
  const e = 1 + 2 ** -12;
  const ap = alloc(Float32Array.of(-1, e)), bp = alloc(Float32Array.of(1, 1, 1, 1, e, e, e, e));
  const cp = alloc(4);
  k.winograd_gemm_nn(ap, bp, cp, 1, 2, 4);
  return f32[cp / 4] === 2 ** -11 + 2 ** -24;
}

/** `run` on wasm with FMA off and on, and on cpu. */
async function threeWays(run: () => tf.Tensor) {
  const got: Float32Array[] = [];
  try {
    for (const fma of [false, true]) {
      setFmaEnabled(fma);
      got.push((await on("wasm", run)).data as Float32Array);
    }
  } finally {
    setFmaEnabled(true);
  }
  return { off: got[0], fma: got[1], cpu: (await on("cpu", run)).data as Float32Array };
}

/** Asserts both wasm paths within `tol` (relErr) of cpu, and, where the engine fuses, that FMA ran. */
function check(what: string, r: { off: Float32Array; fma: Float32Array; cpu: Float32Array }, tol: number) {
  for (const path of ["off", "fma"] as const) {
    const err = relErr(r[path], r.cpu);
    assert.ok(err <= tol, `${what} (${path}): relative error ${err} > ${tol}`);
  }
  if (engineFuses()) assert.ok(r.off.some((v, i) => v !== r.fma[i]), `${what}: FMA on gave SIMD128's bits`);
}

Deno.test("BatchMatMul, Conv2DBackpropFilter and Winograd convolutions match cpu with FMA on and off", async () => {
  await selectBackend("wasm");
  assert.equal((await describeBackend()).fma, true);
  setFmaEnabled(false);
  assert.equal((await describeBackend()).fma, false);
  setFmaEnabled(true);
  const rand = prng(21);
  // BatchMatMul on our GEMM (fresh b; unbatched and batched); bound 1e-5·√k as in its own test.
  for (const [batch, m, k, n] of [[1, 37, 300, 29], [3, 10, 70, 21]]) {
    const lead = batch > 1 ? [batch] : [];
    const av = values(rand, batch * m * k), bv = values(rand, batch * k * n);
    const r = await threeWays(() =>
      tf.matMul(tf.tensor(av, [...lead, m, k]), tf.tensor(bv, [...lead, k, n]))
    );
    check(`BatchMatMul [${[...lead, m, k]}]·[${[...lead, k, n]}]`, r, 1e-5 * Math.sqrt(k));
  }
  const attrs = { strides: [1, 1], pad: "valid", dataFormat: "NHWC", dilations: [1, 1] };
  // Conv2DBackpropFilter's GEMM (5×5: not Winograd, not the one-channel kernel).
  {
    const xShape = [3, 12, 11, 6] as const, fShape = [5, 5, 6, 14] as const, dyShape = [3, 8, 7, 14] as const;
    const xv = values(rand, 3 * 12 * 11 * 6), dyv = values(rand, 3 * 8 * 7 * 14);
    const r = await threeWays(() =>
      tf.engine().runKernel(
        tf.Conv2DBackpropFilter,
        { x: tf.tensor4d(xv, [...xShape]), dy: tf.tensor4d(dyv, [...dyShape]) },
        { ...attrs, filterShape: fShape } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor
    );
    check("Conv2DBackpropFilter 5×5", r, 1e-5);
  }
  // The one-input-channel 3×3 convolutions (conv_narrow.ts): forward with bias and relu, ∂x, ∂W;
  // 1e-5 relative to the result's scale (wasm_conv_narrow_test.ts allows 1e-4 per element).
  {
    const [b, h, w, co] = [3, 17, 16, 13];
    const xv = values(rand, b * h * w), fv = values(rand, 9 * co), bv = values(rand, co);
    const dyv = values(rand, b * (h - 2) * (w - 2) * co);
    const x = () => tf.tensor4d(xv, [b, h, w, 1]), f = () => tf.tensor4d(fv, [3, 3, 1, co]);
    const dy = () => tf.tensor4d(dyv, [b, h - 2, w - 2, co]);
    const fwd = () =>
      tf.fused.conv2d({
        x: x(),
        filter: f(),
        strides: 1,
        pad: "valid",
        bias: tf.tensor1d(bv),
        activation: "relu",
      });
    check("one-channel 3×3 forward", await threeWays(fwd), 1e-5);
    const dx = () =>
      tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dy(), filter: f() }, {
        ...attrs,
        inputShape: [b, h, w, 1],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    check("one-channel 3×3 ∂x", await threeWays(dx), 1e-5);
    const dw = () =>
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: x(), dy: dy() }, {
        ...attrs,
        filterShape: [3, 3, 1, co],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    check("one-channel 3×3 ∂W", await threeWays(dw), 1e-5);
  }
  // Winograd, each tile size: forward, ∂x and ∂W; 1e-4 as in wasm_winograd_test.ts.
  for (const tile of [2, 3, 4] as WinogradTile[]) {
    winogradSettings.tile = tile;
    try {
      const [b, h, ci, co] = [2, 14, 20, 19];
      const xv = values(rand, b * h * h * ci), fv = values(rand, 9 * ci * co);
      const dyv = values(rand, b * (h - 2) * (h - 2) * co);
      const x = () => tf.tensor4d(xv, [b, h, h, ci]), f = () => tf.tensor4d(fv, [3, 3, ci, co]);
      const dy = () => tf.tensor4d(dyv, [b, h - 2, h - 2, co]);
      check(`Winograd F(${tile}) Conv2D`, await threeWays(() => tf.conv2d(x(), f(), 1, "valid")), 1e-4);
      const dx = () =>
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dy(), filter: f() }, {
          ...attrs,
          inputShape: [b, h, h, ci],
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
      check(`Winograd F(${tile}) ∂x`, await threeWays(dx), 1e-4);
      const dw = () =>
        tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: x(), dy: dy() }, {
          ...attrs,
          filterShape: [3, 3, ci, co],
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
      check(`Winograd F(${tile}) ∂W`, await threeWays(dw), 1e-4);
    } finally {
      winogradSettings.tile = 0;
    }
  }
});

Deno.test("a few training steps of a CNN-SPN give nearly the same losses with FMA and without", async () => {
  await selectBackend("wasm");
  // 16 classifier filters, so its 3×3 convolutions take Winograd; the dense layers take our GEMM.
  const config = {
    locFilters: 4,
    locDenseUnits: 16,
    classifierFilters: 16,
    denseUnits: 32,
    downsampleFactor: 3,
    seed: 5,
  };
  const images = tf.randomUniform([6, 100, 100, 1], 0, 1, "float32", 1) as tf.Tensor4D;
  const labels = tf.tidy(() =>
    tf.floor(tf.randomUniform([6, 3], 0, 10, "float32", 2)).toInt()
  ) as tf.Tensor2D;
  const losses: number[][] = [];
  try {
    for (const fma of [false, true]) {
      setFmaEnabled(fma);
      const model = createModel("spn", config);
      const optimizer = createOptimizer("rmsprop", 5e-4);
      const run: number[] = [];
      for (let s = 0; s < 4; s++) {
        const loss = trainStep(model, optimizer, images, labels);
        run.push((await loss.data())[0]);
        loss.dispose();
      }
      losses.push(run);
      optimizer.dispose();
      model.dispose();
    }
  } finally {
    setFmaEnabled(true);
    tf.dispose([images, labels]);
  }
  // Kernel results differ by ~1e-6 relative; four RMSprop steps (lr 5e-4) carry that into the
  // loss at the same order. 1e-4 leaves room and still catches a wrong kernel (which moves the
  // loss by far more after one step).
  for (let s = 0; s < 4; s++) {
    const rel = Math.abs(losses[1][s] - losses[0][s]) / Math.abs(losses[0][s]);
    assert.ok(rel <= 1e-4, `step ${s}: loss ${losses[1][s]} with FMA, ${losses[0][s]} without (rel ${rel})`);
  }
  assert.ok(losses[0][3] < losses[0][0], `the loss did not fall: ${losses[0]}`);
});

Deno.test("selectBackend({ fma }) switches the FMA kernels, names a bad value, and is passed on to data-parallel Workers", async () => {
  const { DataParallelStep } = await import("../src/train/data_parallel.ts");
  // The Worker's own module state starts from the environment, not from the main thread's switch:
  // the init message must carry the switch (else an A/B with Workers measures FMA on both sides).
  const told: unknown[] = [];
  class Listening extends Worker {
    override postMessage(message: unknown, transfer?: unknown): void {
      const m = message as { type?: string; fma?: unknown };
      if (m?.type === "init") told.push(m.fma);
      super.postMessage(message, transfer as Transferable[]);
    }
  }
  const original = globalThis.Worker;
  try {
    await assert.rejects(
      () => selectBackend("wasm", { fma: "no" as never }),
      /selectBackend: options\.fma must be true or false; got "no"/,
    );
    for (const fma of [false, true]) {
      await selectBackend("wasm", { fma });
      assert.equal((await describeBackend()).fma, fma && fmaStatus().supported);
      const model = tinyModel("rnn-spn");
      globalThis.Worker = Listening;
      const dp = await DataParallelStep.create(model, { workers: 2 });
      globalThis.Worker = original;
      dp.dispose();
      model.dispose();
    }
    assert.deepEqual(told, [false, true]);
  } finally {
    globalThis.Worker = original;
    setFmaEnabled(true);
  }
});

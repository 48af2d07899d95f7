/**
 * Our kernels that run directly on tfjs-backend-wasm's heap (`wasm/direct`): that module imports
 * tfjs's `WebAssembly.Memory`, so a kernel takes tensors' heap offsets and needs no copy into our
 * own module and back (`heap.ts`). For a memory-bound kernel those copies cost two to three times
 * the kernel's own pass, so this is where the bandwidth goes.
 *
 * Sound because the module owns no memory of its own (no statics, no stack frames, and a stack
 * pointer of 0 so that a frame would trap; see `wasm/direct/lib.rs`, checked by
 * `tests/wasm_direct_kernels_test.ts`), so it touches nothing but the buffers it is given. Not
 * available (`null`) when tfjs runs threaded: its memory is then shared, which this module, built
 * without atomics, cannot import; kernels fall back to copying through `heap.ts`.
 *
 * @module
 */
import type { tf } from "../../tf.ts";
import { WASM_DIRECT_KERNELS_BASE64 } from "./binary.ts";
import { fmaKernels } from "./fma.ts";

/** The exports of the direct module; pointers are byte offsets into tfjs's heap. */
export interface DirectKernels {
  /** See `wasm/src/max_pool_grad.rs`. */
  max_pool_grad_2x2_f32(
    x: number,
    dy: number,
    dx: number,
    b: number,
    h: number,
    w: number,
    c: number,
  ): void;
  /** See `wasm/src/column_sums.rs`. */
  column_sums_f32(x: number, out: number, part: number, total: number, rows: number, c: number): void;
  /** See `wasm/direct/gemm.rs`. */
  gemm_f32(
    a: number,
    b: number,
    out: number,
    m: number,
    n: number,
    k: number,
    aRow: number,
    aStep: number,
  ): void;
  /** See `wasm/direct/relu_bias_grad.rs`. */
  relu_bias_grad_f32(
    dy: number,
    y: number,
    dz: number,
    db: number,
    part: number,
    total: number,
    rows: number,
    c: number,
  ): void;
  /** See `wasm/direct/conv_narrow.rs`. */
  conv_narrow_backprop_input_f32(
    dy: number,
    w: number,
    dx: number,
    b: number,
    h: number,
    wd: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    pt: number,
    pl: number,
  ): void;
  /** See `wasm/direct/conv_narrow.rs`. */
  conv3x3_c1_f32(
    x: number,
    w: number,
    bias: number,
    y: number,
    b: number,
    h: number,
    wd: number,
    co: number,
    hasBias: number,
    relu: number,
  ): void;
  /** See `wasm/direct/conv_narrow.rs`. */
  conv3x3_c1_backprop_input_f32(
    dy: number,
    w: number,
    dx: number,
    row: number,
    b: number,
    h: number,
    wd: number,
    co: number,
  ): void;
  /** See `wasm/direct/conv_narrow.rs`. */
  conv3x3_c1_backprop_filter_f32(
    x: number,
    dy: number,
    dw: number,
    part: number,
    total: number,
    b: number,
    h: number,
    wd: number,
    co: number,
  ): void;
}

/** The parts of tfjs-backend-wasm's `BackendWasm` the direct kernels use (internals of tfjs 4.22). */
interface WasmBackendInternals {
  wasm?: { asm?: { memory?: WebAssembly.Memory } };
  dataIdMap?: { get(dataId: object): { memoryOffset: number } | undefined };
}

const instances = new WeakMap<WebAssembly.Memory, DirectKernels>();
/** The same with the FMA variants (`fma.ts`) in place of their SIMD128 kernels. */
const withFma = new WeakMap<WebAssembly.Memory, DirectKernels>();
let module: WebAssembly.Module | null = null;
let enabled = true;

/**
 * The direct kernels bound to `backend`'s heap, or `null` where they cannot run (threaded tfjs, an
 * unexpected backend object, or turned off with {@linkcode setDirectKernelsEnabled}). While the FMA
 * kernels are active (`fma.ts`), `gemm_f32` and the `conv3x3_c1_*` kernels are their fused
 * multiply-add variants.
 */
export function directKernels(backend: unknown): DirectKernels | null {
  if (!enabled) return null;
  const memory = (backend as WasmBackendInternals).wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory) || !(memory.buffer instanceof ArrayBuffer)) return null;
  let kernels = instances.get(memory);
  if (!kernels) {
    // Small (a few KB): synchronous compilation is fine even on a browser's main thread.
    module ??= new WebAssembly.Module(
      Uint8Array.from(atob(WASM_DIRECT_KERNELS_BASE64), (c) => c.charCodeAt(0)),
    );
    kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as DirectKernels;
    instances.set(memory, kernels);
  }
  const fma = fmaKernels(memory);
  if (!fma) return kernels;
  let fused = withFma.get(memory);
  if (!fused) {
    fused = {
      ...kernels,
      gemm_f32: fma.gemm_f32,
      conv3x3_c1_f32: fma.conv3x3_c1_f32,
      conv3x3_c1_backprop_filter_f32: fma.conv3x3_c1_backprop_filter_f32,
      conv3x3_c1_backprop_input_f32: fma.conv3x3_c1_backprop_input_f32,
    };
    withFma.set(memory, fused);
  }
  return fused;
}

/** The byte offset of a tensor's data on tfjs's heap (valid until the tensor is disposed). */
export function heapOffset(backend: unknown, t: tf.TensorInfo): number {
  const data = (backend as WasmBackendInternals).dataIdMap?.get(t.dataId);
  if (data == null) throw new Error("rnnspn direct wasm kernels: tensor not on the wasm backend");
  return data.memoryOffset;
}

/** Turns the direct kernels off (the copying fallbacks run instead) or back on; for tests. */
export function setDirectKernelsEnabled(on: boolean): void {
  enabled = on;
}

/**
 * `RnnspnClipRmsprop` on the wasm backend: element-wise clip, global-norm clip and RMSprop fused
 * into two passes of the Rust kernels in `wasm/src/rmsprop.rs`. Unfused, tfjs runs ~12 small
 * kernels per variable (ClipByValue, Square, Sum, AddN, Sqrt, Mul, Add, RealDiv, Sub, …): ~33 ms
 * per RNN-SPN step over 1.68 M parameters, during which a data-parallel Worker sits idle. The
 * kernels repeat tfjs's float32 operations in its order (and its kernels' NaN rules), so the result
 * is bitwise the unfused path's (tests/fused_update_test.ts). Contract in
 * `src/kernels/clip_rmsprop_spec.ts`.
 *
 * Between steps the weights and accumulators also stay in our module's memory (12 bytes per
 * parameter: 20 MB for the RNN-SPN), so a step copies in only the gradients; see `resident`.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { CLIP_RMSPROP, type ClipRmspropAttrs } from "../clip_rmsprop_spec.ts";
import { arena, f32, type WasmBackendLike } from "./heap.ts";
import { wasmKernels } from "./module.ts";

type KernelArgs = Parameters<tf.KernelFunc>[0];

const fround = Math.fround;

/**
 * Weights and accumulators as the last update left them, `[weights | mean squares | moments]` in
 * our module's memory (its own allocation: the arena is every kernel's scratch), so that the next
 * update need not copy them in from tfjs's heap again. Valid while the inputs are the very outputs
 * of that update (same `dataId`s, which are never reused): any other value (a loaded model,
 * restored optimizer state) comes with new dataIds, and the update copies everything in afresh.
 */
const resident = { ptr: 0, bytes: 0, ids: [] as object[] };

/** Reserves the resident buffer for `total` parameters; whether it holds `inputs`' data. */
function reserveResident(total: number, inputs: tf.TensorInfo[]): boolean {
  const bytes = 3 * total * 4;
  if (bytes !== resident.bytes) {
    const wasm = wasmKernels();
    if (resident.ptr) wasm.rnnspn_free(resident.ptr, resident.bytes);
    resident.ptr = 0;
    resident.bytes = 0;
    resident.ids = [];
    const ptr = wasm.rnnspn_alloc(bytes);
    if (ptr === 0) {
      throw new Error(`${CLIP_RMSPROP} (wasm): out of memory allocating ${bytes} bytes of state`);
    }
    [resident.ptr, resident.bytes] = [ptr, bytes];
  }
  return resident.ids.length === inputs.length && inputs.every((t, i) => t.dataId === resident.ids[i]);
}

/**
 * tfjs's `clipGradients` scale from the per-variable float32 sums of squares, operation for
 * operation: `min(1, clipNorm / max(sqrt(addN(sums)), 1e-12))` in float32. (A float64 operation on
 * float32 operands rounded to float32 is the float32 operation: double has > 2·24 + 2 bits.)
 */
function normScale(sums: Float32Array, clipNorm: number): number {
  let total = 0;
  for (const s of sums) total = fround(total + s);
  const norm = fround(Math.sqrt(total));
  // tfjs-backend-wasm's Maximum (XNNPACK) returns the number when one operand is NaN: a NaN
  // gradient leaves the scale at 1 rather than poisoning every variable.
  const floor = Number.isNaN(norm) ? fround(1e-12) : Math.max(norm, fround(1e-12));
  return Math.min(1, fround(fround(clipNorm) / floor));
}

function clipRmsprop({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo[] {
  const a = attrs as unknown as ClipRmspropAttrs;
  const named = inputs as unknown as Record<string, tf.TensorInfo>;
  const n = a.count;
  const pick = (prefix: string) => Array.from({ length: n }, (_, i) => named[`${prefix}${i}`]);
  const [grads, vars, msIn, moIn] = [pick("g"), pick("w"), pick("ms"), pick("mo")];
  const sizes = vars.map((v) => tf.util.sizeFromShape(v.shape));
  const total = sizes.reduce((x, y) => x + y, 0);
  const state = [...vars, ...msIn, ...moIn];
  const inPlace = reserveResident(total, state);
  resident.ids = []; // until the update below has completed
  const [wPtr, msPtr, moPtr] = [0, 1, 2].map((k) => resident.ptr + k * total * 4);
  const { shards } = a;
  const count = 1 + shards.length;
  const [gPtr, scalesPtr, sizesPtr, sumsPtr] = arena([count * total * 4, count * 4, n * 4, n * 4]);
  // Views after both allocations: growing our memory detaches older ones. tfjs's heap does not
  // grow before the outputs are made below, so its views stay valid while copying in.
  const wasmBackend = backend as unknown as WasmBackendLike;
  const g = f32(gPtr, count * total);
  const w = f32(wPtr, total);
  const ms = f32(msPtr, total);
  const mo = f32(moPtr, total);
  let at = 0;
  vars.forEach((v, i) => {
    g.set(wasmBackend.typedArrayFromHeap(grads[i]) as Float32Array, at);
    if (!inPlace) {
      w.set(wasmBackend.typedArrayFromHeap(v) as Float32Array, at);
      ms.set(wasmBackend.typedArrayFromHeap(msIn[i]) as Float32Array, at);
      mo.set(wasmBackend.typedArrayFromHeap(moIn[i]) as Float32Array, at);
    }
    at += sizes[i];
  });
  shards.forEach((s, k) => g.set(s.grads, (k + 1) * total));
  f32(scalesPtr, count).set([a.gradScale, ...shards.map((s) => s.scale)]);
  new Uint32Array(wasmKernels().memory.buffer, sizesPtr, n).set(sizes);

  const wasm = wasmKernels();
  const clipsValue = a.clipValue > 0 && Number.isFinite(a.clipValue);
  wasm.rmsprop_clip_sumsq(
    gPtr,
    count,
    total,
    sizesPtr,
    n,
    scalesPtr,
    clipsValue ? 1 : 0,
    fround(clipsValue ? a.clipValue : 0),
    sumsPtr,
  );
  const clipsNorm = a.clipNorm > 0 && Number.isFinite(a.clipNorm);
  // tfjs's clipGradients does not multiply at all without a norm clip; × 1 is exact either way.
  const scale = clipsNorm ? normScale(f32(sumsPtr, n), a.clipNorm) : 1;
  wasm.rmsprop_update(
    gPtr,
    wPtr,
    msPtr,
    moPtr,
    total,
    scale,
    fround(a.decay),
    fround(1 - a.decay),
    fround(a.momentum),
    fround(a.learningRate),
    fround(a.epsilon),
  );

  // New outputs on tfjs's heap (each `makeOutput` may grow it: a view per copy), as tfjs's own
  // update makes new tensors: writing the inputs in place would also change tensors sharing them.
  const outputs: tf.TensorInfo[] = [];
  for (const [from, src] of [[w, vars], [ms, msIn], [mo, moIn]] as const) {
    at = 0;
    src.forEach((v, i) => {
      const out = wasmBackend.makeOutput([...v.shape], "float32");
      (wasmBackend.typedArrayFromHeap(out) as Float32Array).set(from.subarray(at, at + sizes[i]));
      outputs.push(out);
      at += sizes[i];
    });
  }
  a.weightsOut?.set(w);
  resident.ids = outputs.map((t) => t.dataId);
  return outputs;
}

/** tfjs `KernelConfig` for `RnnspnClipRmsprop` on `wasm`. */
export const clipRmspropWasmConfig: tf.KernelConfig = {
  kernelName: CLIP_RMSPROP,
  backendName: "wasm",
  kernelFunc: clipRmsprop as unknown as tf.KernelFunc,
};

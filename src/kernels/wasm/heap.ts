/**
 * Moving tensor data between tfjs-backend-wasm's heap and our kernels module's memory.
 *
 * Our Rust module cannot share tfjs's emscripten heap (both would lay out their own stack and
 * statics), so a kernel copies its inputs into one reusable arena in our module, runs, and copies
 * the results into outputs tfjs allocated. The arena only grows: a training step reuses it, so
 * there is no allocation on the hot path.
 *
 * @module
 */
import { tf } from "../../tf.ts";
import { wasmKernels } from "./module.ts";

/** The parts of tfjs-backend-wasm's `BackendWasm` our kernels use. */
export interface WasmBackendLike {
  /** Allocates an output tensor on tfjs's heap. */
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of a tensor's data on tfjs's heap (invalidated if that heap grows). */
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  /** Frees a tensor's data that no tensor owns (a kernel's scratch from `makeOutput`). */
  disposeData(dataId: object): boolean;
}

let arenaPtr = 0;
let arenaBytes = 0;

const align16 = (n: number) => (n + 15) & ~15;

/**
 * Reserves buffers of the given byte sizes in our module's arena and returns their offsets.
 * Valid until the next call (the arena is shared by all kernels, which run one at a time).
 */
export function arena(byteSizes: readonly number[]): number[] {
  const total = byteSizes.reduce((sum, n) => sum + align16(n), 0);
  const wasm = wasmKernels();
  if (total > arenaBytes) {
    if (arenaPtr) wasm.rnnspn_free(arenaPtr, arenaBytes);
    const grown = Math.max(total, Math.ceil(arenaBytes * 1.5));
    arenaPtr = wasm.rnnspn_alloc(grown);
    if (arenaPtr === 0) {
      arenaBytes = 0;
      throw new Error(`rnnspn wasm kernels: out of memory allocating ${grown} bytes of scratch`);
    }
    arenaBytes = grown;
  }
  const offsets: number[] = [];
  let at = arenaPtr;
  for (const n of byteSizes) {
    offsets.push(at);
    at += align16(n);
  }
  return offsets;
}

/** A Float32Array view of `length` floats at `ptr` in our module's memory (re-made after growth). */
export function f32(ptr: number, length: number): Float32Array {
  return new Float32Array(wasmKernels().memory.buffer, ptr, length);
}

/** An Int32Array view of `length` ints at `ptr` in our module's memory. */
export function i32(ptr: number, length: number): Int32Array {
  return new Int32Array(wasmKernels().memory.buffer, ptr, length);
}

/** Copies a tensor's data from tfjs's heap into our memory at `ptr`. */
export function copyIn(backend: WasmBackendLike, t: tf.TensorInfo, ptr: number): void {
  const src = backend.typedArrayFromHeap(t);
  new Uint8Array(wasmKernels().memory.buffer, ptr, src.byteLength).set(
    new Uint8Array(src.buffer, src.byteOffset, src.byteLength),
  );
}

/** Allocates a tfjs output tensor and fills it from our memory at `ptr`. */
export function copyOut(
  backend: WasmBackendLike,
  shape: number[],
  dtype: tf.DataType,
  ptr: number,
): tf.TensorInfo {
  const out = backend.makeOutput(shape, dtype);
  const dst = backend.typedArrayFromHeap(out);
  dst.set(
    new (dst.constructor as Float32ArrayConstructor)(wasmKernels().memory.buffer, ptr, dst.length) as never,
  );
  return out;
}

/**
 * A tensor's data on the host without a copy where the backend allows: on wasm a view of tfjs's
 * heap, valid only until tfjs next allocates (read it at once); elsewhere `dataSync()`.
 */
export function hostView(t: tf.Tensor): tf.TypedArray {
  return tf.getBackend() === "wasm"
    ? (tf.backend() as unknown as WasmBackendLike).typedArrayFromHeap(t)
    : t.dataSync() as tf.TypedArray;
}

/**
 * Allocation bounds for the ops whose output size comes from an argument (an output size, a grid):
 * a request that cannot fit one tensor of the active backend is refused up front with the bytes it
 * would need, instead of growing until the process is killed (cpu), reading out of bounds (wasm) or
 * failing inside a typed-array constructor.
 *
 * @module
 */
import { tf } from "../tf.ts";

/**
 * Largest single tensor, in bytes, on backends without a queryable limit: one typed array
 * (cpu and others keep a tensor in one; V8 allows larger ones, but a 2 GiB tensor from an op
 * argument is a mistake far more often than an intention).
 */
export const DEFAULT_TENSOR_BYTES_LIMIT: number = 2 ** 31;

/**
 * tfjs-backend-wasm keeps every tensor in one WebAssembly memory of at most 4 GiB (emscripten's heap
 * maximum in its 4.22 build); one tensor from one argument is capped at half of that, the same cap
 * as on cpu.
 */
export const WASM_TENSOR_BYTES_LIMIT: number = 2 ** 31;

interface WebGpuBackendLike {
  device?: { limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number } };
}

/** The largest tensor the active backend can hold, in bytes, and where that limit comes from. */
export function tensorBytesLimit(): { bytes: number; source: string } {
  const name = tf.getBackend();
  if (name === "wasm") {
    return {
      bytes: WASM_TENSOR_BYTES_LIMIT,
      source: "the wasm backend's per-tensor cap (half its 4 GiB heap)",
    };
  }
  if (name === "webgpu") {
    const limits = (tf.backend() as unknown as WebGpuBackendLike).device?.limits;
    const binding = limits?.maxStorageBufferBindingSize, buffer = limits?.maxBufferSize;
    if (binding !== undefined && buffer !== undefined) {
      return binding <= buffer
        ? { bytes: binding, source: "the WebGPU device's maxStorageBufferBindingSize" }
        : { bytes: buffer, source: "the WebGPU device's maxBufferSize" };
    }
  }
  return {
    bytes: DEFAULT_TENSOR_BYTES_LIMIT,
    source: `this library's per-tensor cap on the ${name} backend (one typed array)`,
  };
}

/**
 * Throws when a tensor of `shape` (4-byte elements) cannot be allocated on the active backend,
 * naming `caller`, `what` and the bytes it would need. Returns those bytes.
 */
export function checkAllocation(caller: string, what: string, shape: readonly number[]): number {
  // In float64: exact up to 2^53, far beyond any limit, so the product cannot wrap around.
  const bytes = shape.reduce((a, b) => a * b, 4);
  const limit = tensorBytesLimit();
  if (bytes > limit.bytes) {
    throw new Error(
      `${caller}: ${what} [${shape.join(", ")}] would need ${bytes} bytes (${formatBytes(bytes)}); ` +
        `${limit.source} is ${limit.bytes} bytes (${formatBytes(limit.bytes)})`,
    );
  }
  return bytes;
}

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

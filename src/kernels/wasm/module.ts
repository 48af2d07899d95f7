/**
 * Loads the library's own WebAssembly kernels (built from `wasm/`, embedded as base64 so that
 * importing the library touches neither the network nor the file system).
 *
 * The module has its own linear memory: kernels copy tensor data in from tfjs-backend-wasm's heap,
 * run, and copy results back (see `heap.ts`).
 *
 * @module
 */
import { WASM_KERNELS_BASE64 } from "./binary.ts";
import { mainModuleImports } from "./fma.ts";

/** The raw exports of the kernels module. Pointers and sizes are byte offsets into `memory`. */
export interface WasmKernelExports {
  /** The module's linear memory. */
  memory: WebAssembly.Memory;
  /** Allocates `bytes` (16-byte aligned); returns 0 when memory is exhausted. */
  rnnspn_alloc(bytes: number): number;
  /** Frees a buffer from `rnnspn_alloc`, given the same size. */
  rnnspn_free(ptr: number, bytes: number): void;
  // deno-lint-ignore no-explicit-any
  [kernel: string]: any;
}

let instance: WasmKernelExports | null = null;
// The Winograd kernels' FMA tile GEMMs (`fma.ts`), bound to this module's memory on first use.
const imports = mainModuleImports(() => instance!.memory);
let pending: Promise<WasmKernelExports> | null = null;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Instantiates the kernels module once (asynchronously: browsers refuse synchronous compilation of
 * large modules on the main thread). `selectBackend("wasm")` awaits this.
 */
export function initWasmKernels(): Promise<WasmKernelExports> {
  if (instance) return Promise.resolve(instance);
  pending ??= WebAssembly.instantiate(decodeBase64(WASM_KERNELS_BASE64), imports).then(
    ({ instance: made }) => {
      instance = made.exports as unknown as WasmKernelExports;
      return instance;
    },
  );
  return pending;
}

/**
 * The kernels module, instantiating it synchronously if `initWasmKernels` has not run (fine in Deno
 * and Node; a browser main thread should `await initWasmKernels()` or `selectBackend("wasm")` first).
 */
export function wasmKernels(): WasmKernelExports {
  if (!instance) {
    const module = new WebAssembly.Module(decodeBase64(WASM_KERNELS_BASE64));
    instance = new WebAssembly.Instance(module, imports).exports as unknown as WasmKernelExports;
  }
  return instance;
}

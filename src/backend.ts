/**
 * Choosing and initialising a TensorFlow.js backend: WebGPU → WASM (SIMD) → CPU.
 *
 * @module
 */
import { tf } from "./tf.ts";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { initWasmKernels } from "./kernels/wasm/module.ts";

/**
 * The backends this library ships kernels for.
 *
 * @example
 * ```ts
 * import { type BackendName, selectBackend } from "@rnnspn/core";
 * const name: BackendName = await selectBackend();
 * if (name === "cpu") console.warn("neither WebGPU nor WASM could start: training will be slow");
 * ```
 */
export type BackendName = "webgpu" | "wasm" | "cpu";

/**
 * What {@linkcode selectBackend} may be asked for: one backend, or `"auto"` for the best available.
 *
 * @example
 * ```ts
 * import { type BackendPreference, selectBackend } from "@rnnspn/core";
 * const preference = (Deno.env.get("RNNSPN_BACKEND") ?? "auto") as BackendPreference;
 * console.log(await selectBackend(preference));
 * ```
 */
export type BackendPreference = BackendName | "auto";

/**
 * Options for {@linkcode selectBackend}.
 *
 * @example
 * ```ts
 * import { selectBackend, type SelectBackendOptions } from "@rnnspn/core";
 * // tfjs-backend-wasm's .wasm files in a folder of your own (a path under Deno/Node, a URL in a browser).
 * const options: SelectBackendOptions = { wasmPaths: "./vendor/tfjs-backend-wasm/" };
 * await selectBackend("wasm", options);
 * ```
 */
export interface SelectBackendOptions {
  /**
   * Where tfjs-backend-wasm's `.wasm` files are: a directory (path or URL, ending in `/`).
   * Default: the `dist/` folder of the installed `@tensorflow/tfjs-backend-wasm` package, found
   * through `import.meta.resolve` — no CDN, no network.
   */
  wasmPaths?: string;
}

/**
 * What {@linkcode describeBackend} reports about the active backend.
 *
 * @example
 * ```ts
 * import { type BackendInfo, describeBackend, selectBackend } from "@rnnspn/core";
 * await selectBackend("wasm");
 * const info: BackendInfo = await describeBackend();
 * console.log(info.name, info.simd, info.threads); // "wasm" true 1
 * ```
 */
export interface BackendInfo {
  /** The active backend. */
  name: BackendName;
  /** WebGPU adapter description (vendor/architecture/device), when the backend is webgpu. */
  adapter?: string;
  /** Whether the WASM backend runs its SIMD build. */
  simd?: boolean;
  /** Number of threads tfjs-backend-wasm runs with (1 = no threads). */
  threads?: number;
}

const BACKENDS: readonly BackendName[] = ["webgpu", "wasm", "cpu"];
let wasmPathsSet = false;

/**
 * Whether the runtime exposes a WebGPU adapter. Never throws.
 *
 * @example
 * ```ts
 * import { hasWebGpuAdapter, selectBackend } from "@rnnspn/core";
 * // Ask for webgpu only where it can work, so that selectBackend does not throw.
 * await selectBackend(await hasWebGpuAdapter() ? "webgpu" : "wasm");
 * ```
 */
export async function hasWebGpuAdapter(): Promise<boolean> {
  try {
    const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
    if (!gpu) return false;
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

function defaultWasmDir(): string {
  // import.meta.resolve gives the package's entry file; its .wasm files sit beside it in dist/.
  const entry = new URL(import.meta.resolve("@tensorflow/tfjs-backend-wasm"));
  const dir = new URL("./", entry);
  // Under Deno tfjs sees a Node-like platform and reads the binary with fs: it wants a path.
  return dir.protocol === "file:" ? decodeURIComponent(dir.pathname) : dir.href;
}

function configureWasm(options: SelectBackendOptions): void {
  if (wasmPathsSet) return;
  let dir = options.wasmPaths ?? defaultWasmDir();
  if (!dir.endsWith("/")) dir += "/";
  setWasmPaths(dir);
  wasmPathsSet = true;
}

async function activate(name: BackendName, options: SelectBackendOptions): Promise<boolean> {
  if (name === "wasm") configureWasm(options);
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch {
    ok = false;
  }
  if (ok) {
    await tf.ready();
    if (name === "wasm") await initWasmKernels();
  }
  return ok;
}

/**
 * Makes a TensorFlow.js backend active and returns its name.
 *
 * With `"auto"` (the default) the order is: `webgpu` when `navigator.gpu` yields an adapter, else
 * `wasm` (SIMD), else `cpu`. An explicit preference that cannot be honoured throws an `Error` that
 * names what is missing: there is no silent fallback.
 *
 * @example
 * ```ts
 * import { selectBackend } from "@rnnspn/core";
 * const backend = await selectBackend("cpu");
 * console.log(backend); // "cpu"
 * ```
 *
 * @param preference `"webgpu"`, `"wasm"`, `"cpu"` or `"auto"`.
 * @param options where to find tfjs's `.wasm` files.
 * @returns the name of the backend that is now active.
 */
export async function selectBackend(
  preference: BackendPreference = "auto",
  options: SelectBackendOptions = {},
): Promise<BackendName> {
  if (preference !== "auto" && !BACKENDS.includes(preference)) {
    throw new Error(
      `selectBackend: preference must be one of "auto", ${BACKENDS.map((b) => `"${b}"`).join(", ")}; got ${
        JSON.stringify(preference)
      }`,
    );
  }
  if (preference === "webgpu") {
    if (!(await hasWebGpuAdapter())) {
      throw new Error(
        "selectBackend: webgpu was requested but navigator.gpu yields no adapter " +
          "(no GPU and no software Vulkan driver such as Mesa llvmpipe; on Debian: apt-get install mesa-vulkan-drivers)",
      );
    }
    if (!(await activate("webgpu", options))) {
      throw new Error("selectBackend: a WebGPU adapter exists but tfjs-backend-webgpu failed to initialise");
    }
    return "webgpu";
  }
  if (preference === "wasm") {
    if (!(await activate("wasm", options))) {
      throw new Error(
        `selectBackend: tfjs-backend-wasm failed to initialise (looked for its .wasm files in ${
          options.wasmPaths ?? "the installed @tensorflow/tfjs-backend-wasm package"
        }; pass options.wasmPaths to point elsewhere)`,
      );
    }
    return "wasm";
  }
  if (preference === "cpu") {
    if (!(await activate("cpu", options))) {
      throw new Error("selectBackend: the cpu backend failed to initialise");
    }
    return "cpu";
  }
  if (await hasWebGpuAdapter() && await activate("webgpu", options)) return "webgpu";
  if (await activate("wasm", options)) return "wasm";
  if (await activate("cpu", options)) return "cpu";
  throw new Error("selectBackend: no backend could be initialised (tried webgpu, wasm, cpu)");
}

/**
 * Describes the active backend: its name, and the WebGPU adapter or the WASM SIMD/threads setup.
 *
 * @example
 * ```ts
 * import { describeBackend, selectBackend } from "@rnnspn/core";
 * await selectBackend("cpu");
 * console.log(await describeBackend()); // { name: "cpu" }
 * ```
 */
export async function describeBackend(): Promise<BackendInfo> {
  const name = tf.getBackend() as BackendName;
  if (name === "wasm") {
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean;
    const multi = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT") as boolean;
    // deno-lint-ignore no-explicit-any
    const backend = tf.backend() as any;
    const threads = multi && typeof backend.getThreadsCount === "function" ? backend.getThreadsCount() : 1;
    return { name, simd, threads };
  }
  if (name === "webgpu") {
    // tfjs keeps only vendor/architecture; ask the adapter itself for a readable description.
    const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
    const info = (await gpu?.requestAdapter())?.info;
    const adapter =
      [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(" ") ||
      "unknown adapter";
    return { name, adapter };
  }
  return { name };
}

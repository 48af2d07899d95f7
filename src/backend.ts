/**
 * Choosing and initialising a TensorFlow.js backend: WebGPU (hardware) → WASM (SIMD) → CPU.
 *
 * What differs between runtimes is found by feature detection: the `.wasm` files of
 * tfjs-backend-wasm come from the installed package where the runtime can resolve bare specifiers
 * (Deno, Node), else from beside this module (the browser build copies them there); the webgpu
 * package is imported only when it is about to be used, and a missing one is a skip, not an error.
 *
 * @module
 */
import { backendStarted, demoteBackend, tf } from "./tf.ts";
import { getThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { initWasmKernels } from "./kernels/wasm/module.ts";
import { registerKernels } from "./kernels/register.ts";
import { fmaActive, fmaStatus, setFmaEnabled } from "./kernels/wasm/fma.ts";

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
   * Default: where the runtime resolves `@tensorflow/tfjs-backend-wasm` (Deno, Node: the installed
   * package's `dist/`), else the folder of this module itself (the browser build puts the files
   * beside `rnnspn.js`) — no CDN, no network beyond that folder. Takes effect only before
   * tfjs-backend-wasm has first initialised.
   */
  wasmPaths?: string;
  /**
   * Whether our WASM kernels may use their relaxed-SIMD FMA variants where the engine has relaxed SIMD
   * (default: yes, unless the environment sets `RNNSPN_FMA=0`). `false` takes the SIMD128 path, which
   * rounds like tfjs-cpu; for A/B runs, or where bitwise agreement with an engine lacking relaxed SIMD
   * (Safari, Node 20) matters more than speed. Applies to the data-parallel Workers started afterwards.
   */
  fma?: boolean;
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
  /** Whether the active WebGPU adapter is a software one (llvmpipe, lavapipe, SwiftShader, fallback). */
  software?: boolean;
  /** Whether the WASM backend runs its SIMD build. */
  simd?: boolean;
  /**
   * Number of threads tfjs-backend-wasm's XNNPACK runs with: 1 without its threaded build; with it,
   * tfjs's own choice from the core count (1 on a 2-core machine, seen in Chromium).
   */
  threads?: number;
  /**
   * Whether tfjs-backend-wasm runs its threaded build (cross-origin-isolated pages). Then this
   * library's kernels that work in place on tfjs's heap are skipped for copying ones and tfjs's own
   * multithreaded kernels differ in float summation order: results differ from the single-threaded
   * build in the last bits.
   */
  multithreaded?: boolean;
  /**
   * Whether our wasm GEMM and convolution kernels use fused multiply-adds (relaxed SIMD; off where
   * the engine lacks it or with `RNNSPN_FMA=0`) rather than SIMD128 multiplies and adds.
   */
  fma?: boolean;
  /**
   * Why the last `selectBackend("auto")` passed over each backend it skipped before the one it
   * took (e.g. `{ webgpu: "software adapter: llvmpipe …" }`); absent when nothing was skipped.
   */
  skipped?: Partial<Record<BackendName, string>>;
}

const BACKENDS: readonly BackendName[] = ["webgpu", "wasm", "cpu"];
let wasmDir: string | null = null;
let lastSkipped: Partial<Record<BackendName, string>> = {};

function gpuOf(): GPU | undefined {
  return (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
}

/**
 * Whether the runtime exposes a WebGPU adapter, hardware or software. Never throws.
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
    const gpu = gpuOf();
    if (!gpu) return false;
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software/i;

interface AdapterProbe {
  adapter: GPUAdapter | null;
  description: string;
  software: boolean;
}

async function probeAdapter(): Promise<AdapterProbe> {
  const gpu = gpuOf();
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  if (!adapter) return { adapter: null, description: "", software: false };
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean } | undefined;
  const description = [info?.vendor, info?.architecture, info?.device, info?.description]
    .filter(Boolean).join(" ") || "unknown adapter";
  // `isFallbackAdapter` moved from the adapter to its info; older runtimes have only the former.
  const fallback = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    info?.isFallbackAdapter === true;
  return { adapter, description, software: fallback || SOFTWARE_ADAPTER.test(description) };
}

function defaultWasmDir(): string {
  try {
    // Deno and Node resolve the package (import map or node_modules); its .wasm files sit beside
    // its entry file in dist/.
    const dir = new URL("./", new URL(import.meta.resolve("@tensorflow/tfjs-backend-wasm")));
    // Under Deno and Node tfjs sees a Node-like platform and reads the binary with fs: it wants a path.
    return dir.protocol === "file:" ? decodeURIComponent(dir.pathname) : dir.href;
  } catch {
    // A browser without an import map cannot resolve bare specifiers: the browser build puts the
    // .wasm files beside the bundle, which is this module.
    return new URL("./", import.meta.url).href;
  }
}

function configureWasm(options: SelectBackendOptions): void {
  if (backendStarted("wasm")) return;
  let dir = options.wasmPaths ?? wasmDir ?? defaultWasmDir();
  if (!dir.endsWith("/")) dir += "/";
  if (dir === wasmDir) return;
  setWasmPaths(dir);
  wasmDir = dir;
}

async function importWebGpu(): Promise<void> {
  if (tf.findBackendFactory("webgpu") != null) return;
  // Imported on demand: a Node install may leave the package out. The backend registers itself
  // above cpu; demoted at once so that it never becomes an uninitialised default.
  await import("@tensorflow/tfjs-backend-webgpu");
  if (tf.findBackendFactory("webgpu") == null) {
    throw new Error("tfjs-backend-webgpu did not register (it found no navigator.gpu)");
  }
  demoteBackend("webgpu");
}

function reason(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message);
  return String(error);
}

/** Makes `name` active; resolves to null, or to why it could not be. Never throws. */
async function activate(name: BackendName, options: SelectBackendOptions): Promise<string | null> {
  try {
    if (name === "wasm") configureWasm(options);
    if (name === "webgpu") await importWebGpu();
    if (!(await tf.setBackend(name))) {
      // tfjs logs its own error and answers false; name where the .wasm files were looked for.
      return name === "wasm"
        ? `tfjs-backend-wasm did not start (its .wasm files looked for in ${wasmDir})`
        : `tfjs could not initialise ${name}`;
    }
    await tf.ready();
    if (name === "wasm") await initWasmKernels();
    return null;
  } catch (error) {
    return reason(error);
  }
}

/**
 * Makes a TensorFlow.js backend active and returns its name.
 *
 * With `"auto"` (the default) the order is: `webgpu` on a hardware adapter (a software one —
 * `isFallbackAdapter`, Mesa's llvmpipe/lavapipe, Chromium's SwiftShader — is slower than wasm and
 * skipped), else `wasm` (SIMD), else `cpu`; {@linkcode describeBackend} says why each was skipped.
 * An explicit preference that cannot be honoured throws an `Error` that names what is missing:
 * there is no silent fallback. `"webgpu"` asked for explicitly takes a software adapter too.
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
  // Idempotent; here too (not only on importing mod.ts) so that a Worker which imports this module
  // alone gets our kernels.
  registerKernels();
  if (preference !== "auto" && !BACKENDS.includes(preference)) {
    throw new Error(
      `selectBackend: preference must be one of "auto", ${BACKENDS.map((b) => `"${b}"`).join(", ")}; got ${
        JSON.stringify(preference)
      }`,
    );
  }
  if (options.wasmPaths !== undefined && typeof options.wasmPaths !== "string") {
    throw new Error(
      `selectBackend: options.wasmPaths must be a directory path or URL string; got ${typeof options
        .wasmPaths}`,
    );
  }
  if (options.fma !== undefined) {
    if (typeof options.fma !== "boolean") {
      throw new Error(`selectBackend: options.fma must be true or false; got ${JSON.stringify(options.fma)}`);
    }
    setFmaEnabled(options.fma);
  }
  if (preference === "webgpu") {
    if (!gpuOf()) {
      throw new Error(
        "selectBackend: webgpu was requested but this runtime has no navigator.gpu (no WebGPU API)",
      );
    }
    if (!(await hasWebGpuAdapter())) {
      throw new Error(
        "selectBackend: webgpu was requested but navigator.gpu yields no adapter " +
          "(no GPU and no software Vulkan driver such as Mesa llvmpipe; on Debian: apt-get install mesa-vulkan-drivers)",
      );
    }
    const failed = await activate("webgpu", options);
    if (failed) {
      throw new Error(`selectBackend: a WebGPU adapter exists but webgpu failed to start: ${failed}`);
    }
    lastSkipped = {};
    return "webgpu";
  }
  if (preference === "wasm") {
    const failed = await activate("wasm", options);
    if (failed) {
      throw new Error(
        `selectBackend: tfjs-backend-wasm failed to initialise (its .wasm files looked for in ${
          wasmDir ?? options.wasmPaths ?? "the default folder"
        }; pass options.wasmPaths to point elsewhere): ${failed}`,
      );
    }
    lastSkipped = {};
    return "wasm";
  }
  if (preference === "cpu") {
    const failed = await activate("cpu", options);
    if (failed) throw new Error(`selectBackend: the cpu backend failed to initialise: ${failed}`);
    lastSkipped = {};
    return "cpu";
  }
  const skipped: Partial<Record<BackendName, string>> = {};
  const probe = await probeAdapter();
  if (!probe.adapter) skipped.webgpu = gpuOf() ? "navigator.gpu yields no adapter" : "no navigator.gpu";
  else if (probe.software) skipped.webgpu = `software adapter (${probe.description}): slower than wasm`;
  else {
    const failed = await activate("webgpu", options);
    if (!failed) return (lastSkipped = skipped, "webgpu");
    skipped.webgpu = failed;
  }
  for (const name of ["wasm", "cpu"] as const) {
    const failed = await activate(name, options);
    if (!failed) return (lastSkipped = skipped, name);
    skipped[name] = failed;
  }
  lastSkipped = skipped;
  throw new Error(
    `selectBackend: no backend could be initialised: ${
      Object.entries(skipped).map(([k, v]) => `${k}: ${v}`).join("; ")
    }`,
  );
}

/**
 * Describes the active backend: its name, the WebGPU adapter or the WASM SIMD/threads setup, and
 * why the last automatic choice skipped the backends before it.
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
  const skipped = Object.keys(lastSkipped).length > 0 ? { skipped: { ...lastSkipped } } : {};
  if (name === "wasm") {
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean;
    const multithreaded = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT") as boolean;
    // The XNNPACK thread pool's size, set when the backend initialised (1 without threads).
    let threads = 1;
    try {
      threads = getThreadsCount();
    } catch {
      // Not initialised by tfjs's own factory: no pool, one thread.
    }
    return { name, simd, multithreaded, threads, fma: fmaActive(), ...skipped };
  }
  if (name === "webgpu") {
    // tfjs keeps only vendor/architecture; ask the adapter itself for a readable description.
    const { description, software } = await probeAdapter();
    return { name, adapter: description || "unknown adapter", software, ...skipped };
  }
  return { name, ...skipped };
}

/**
 * Whether the FMA kernels are switched on (by {@linkcode SelectBackendOptions.fma} or `RNNSPN_FMA`),
 * whether or not the engine can run them: what data-parallel Workers are told to use.
 *
 * @example
 * ```ts
 * import { fmaEnabled, selectBackend } from "./backend.ts";
 * await selectBackend("wasm", { fma: false });
 * console.log(fmaEnabled()); // false
 * ```
 */
export function fmaEnabled(): boolean {
  return fmaStatus().enabled;
}

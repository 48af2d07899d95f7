/**
 * Fused multiply-add (relaxed SIMD) variants of the compute-bound wasm kernels (`wasm/fma/fma.c`):
 * BatchMatMul's GEMM, `Conv2DBackpropFilter`'s GEMM over pixels, the Winograd tile GEMMs and the
 * one-input-channel 3×3 convolutions (forward, ∂W, ∂x). Each
 * is its SIMD128 kernel with every `acc + x·y` (two roundings) turned into `f32x4.relaxed_madd`
 * (one `vfmadd` on x86 with FMA, `fmla` on ARM).
 *
 * The module is used where the engine validates it (V8 in Deno, Chrome, Edge and Node ≥ 22;
 * Firefox); elsewhere (Safari, older Node) every kernel keeps its SIMD128 path. It can be turned
 * off for A/B runs with the environment variable `RNNSPN_FMA=0` (read once, where the runtime has
 * an environment and Deno grants access to it) or {@linkcode setFmaEnabled}.
 *
 * Like `wasm/direct` the module imports its memory and owns none (no statics, a stack pointer of
 * 0), so one binary is instantiated on both memories the kernels use: tfjs-backend-wasm's heap
 * (`gemm_f32`, `conv3x3_c1_*`) and our own module's (`heap.ts`: the others).
 *
 * @module
 */
import { WASM_FMA_KERNELS_BASE64 } from "./binary.ts";
import type { DirectKernels } from "./direct.ts";

/** The exports of the FMA module; pointers are byte offsets into the memory it was bound to. */
export interface FmaKernels {
  /** Same contract as `wasm/direct/gemm.rs`'s `gemm_f32`. */
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
  /** Same contract as `wasm/src/conv2d_backprop_filter.rs`. */
  conv2d_backprop_filter_f32(
    x: number,
    dy: number,
    dw: number,
    b: number,
    hp: number,
    wp: number,
    ci: number,
    oh: number,
    ow: number,
    co: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
  ): void;
  /** C [m, n] = A [m, k] · B [k, n] (the Winograd forward and ∂x tile GEMM). */
  winograd_gemm_nn(a: number, b: number, c: number, m: number, k: number, n: number): void;
  /** C [m, n] += A [t, m]ᵀ · B [t, n] (the Winograd ∂W tile GEMM). */
  winograd_gemm_tn(a: number, b: number, c: number, t: number, m: number, n: number): void;
  /** Same contract as `wasm/direct/conv_narrow.rs`'s. */
  conv3x3_c1_f32: DirectKernels["conv3x3_c1_f32"];
  /** Same contract as `wasm/direct/conv_narrow.rs`'s. */
  conv3x3_c1_backprop_filter_f32: DirectKernels["conv3x3_c1_backprop_filter_f32"];
  /** Same contract as `wasm/direct/conv_narrow.rs`'s. */
  conv3x3_c1_backprop_input_f32: DirectKernels["conv3x3_c1_backprop_input_f32"];
}

let module: WebAssembly.Module | null | undefined;

/** The compiled FMA module, or `null` where the engine has no relaxed SIMD (checked once). */
function fmaModule(): WebAssembly.Module | null {
  if (module === undefined) {
    const bytes = Uint8Array.from(atob(WASM_FMA_KERNELS_BASE64), (c) => c.charCodeAt(0));
    // Validating the module itself (20 KB, only SIMD128, relaxed SIMD and bulk memory) rather than a
    // probe: what is checked is exactly what would run.
    module = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return module;
}

/** `RNNSPN_FMA` from the environment where there is one and reading it needs no prompt; else undefined. */
function fromEnvironment(): string | undefined {
  const g = globalThis as {
    Deno?: {
      env: { get(name: string): string | undefined };
      permissions: { querySync?(d: { name: "env"; variable: string }): { state: string } };
    };
    process?: { env?: Record<string, string | undefined> };
  };
  try {
    if (g.Deno) {
      const state = g.Deno.permissions.querySync?.({ name: "env", variable: "RNNSPN_FMA" }).state;
      return state === "granted" ? g.Deno.env.get("RNNSPN_FMA") : undefined;
    }
    return g.process?.env?.RNNSPN_FMA;
  } catch {
    return undefined;
  }
}

let enabled: boolean | undefined;

/**
 * Turns the FMA kernels on (where the engine has relaxed SIMD) or off (every kernel takes its
 * SIMD128 path), overriding `RNNSPN_FMA`; for tests and A/B benchmarks.
 *
 * @example
 * ```ts
 * import { fmaActive, setFmaEnabled } from "./fma.ts";
 * setFmaEnabled(false);
 * console.log(fmaActive()); // false
 * ```
 */
export function setFmaEnabled(on: boolean): void {
  enabled = on;
}

/**
 * Where the FMA kernels stand: `supported` whether the engine validates the relaxed-SIMD module,
 * `enabled` whether they are switched on (`RNNSPN_FMA` unset or not `0`, or
 * {@linkcode setFmaEnabled}), `active` both.
 *
 * @example
 * ```ts
 * import { fmaStatus } from "./fma.ts";
 * console.log(fmaStatus()); // { supported: true, enabled: true, active: true } in Deno 2.9
 * ```
 */
export function fmaStatus(): { supported: boolean; enabled: boolean; active: boolean } {
  enabled ??= fromEnvironment() !== "0";
  const supported = fmaModule() !== null;
  return { supported, enabled, active: supported && enabled };
}

/**
 * Whether the kernels take their FMA variants now.
 *
 * @example
 * ```ts
 * import { fmaActive } from "./fma.ts";
 * console.log(fmaActive() ? "relaxed SIMD FMA" : "SIMD128");
 * ```
 */
export function fmaActive(): boolean {
  return fmaStatus().active;
}

const instances = new WeakMap<WebAssembly.Memory, FmaKernels>();

/**
 * The FMA kernels bound to `memory`, or `null` while they are not {@linkcode fmaActive}. The
 * memory must not be shared (a threaded tfjs heap): the module is built without atomics.
 *
 * @example
 * ```ts
 * import { fmaKernels } from "./fma.ts";
 * const k = fmaKernels(new WebAssembly.Memory({ initial: 1 }));
 * console.log(k === null ? "SIMD128 path" : "FMA path");
 * ```
 */
export function fmaKernels(memory: WebAssembly.Memory): FmaKernels | null {
  if (!fmaActive()) return null;
  let kernels = instances.get(memory);
  if (!kernels) {
    kernels = new WebAssembly.Instance(fmaModule()!, { env: { memory } }).exports as unknown as FmaKernels;
    instances.set(memory, kernels);
  }
  return kernels;
}

/**
 * The imports of our main kernels module (`wasm/src/winograd.rs` calls the FMA tile GEMMs through
 * them while its `winograd_set_fma` switch is on), bound to that module's memory once it exists.
 * Each call goes through JS (the FMA module can only be instantiated on the memory the main module
 * creates, so it cannot be linked directly); that costs well under a microsecond per GEMM of a few
 * thousand multiply-adds at least.
 *
 * @example
 * ```ts
 * import { mainModuleImports } from "./fma.ts";
 * let memory: WebAssembly.Memory | undefined;
 * const imports = mainModuleImports(() => memory!); // pass to WebAssembly.instantiate
 * console.log(Object.keys(imports.rnnspn_fma));
 * ```
 */
export function mainModuleImports(memory: () => WebAssembly.Memory): {
  rnnspn_fma: Pick<FmaKernels, "winograd_gemm_nn" | "winograd_gemm_tn">;
} {
  let bound: FmaKernels | null = null;
  const kernels = () => {
    bound ??= fmaKernels(memory());
    if (!bound) throw new Error("rnnspn wasm kernels: FMA tile GEMM called while FMA is not active");
    return bound;
  };
  return {
    rnnspn_fma: {
      winograd_gemm_nn: (a, b, c, m, k, n) => kernels().winograd_gemm_nn(a, b, c, m, k, n),
      winograd_gemm_tn: (a, b, c, t, m, n) => kernels().winograd_gemm_tn(a, b, c, t, m, n),
    },
  };
}

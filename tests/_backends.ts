/**
 * Which backends the test suite runs on, and the rule for WebGPU: with no adapter the webgpu tests
 * are skipped, loudly, unless `REQUIRE_WEBGPU=1` (CI) makes a missing adapter a failure.
 */
import { type BackendName, hasWebGpuAdapter, selectBackend } from "../mod.ts";

export const WEBGPU_AVAILABLE: boolean = await hasWebGpuAdapter();
const REQUIRED = Deno.env.get("REQUIRE_WEBGPU") === "1";

if (!WEBGPU_AVAILABLE) {
  if (REQUIRED) {
    throw new Error(
      "REQUIRE_WEBGPU=1 but navigator.gpu yields no adapter: install a Vulkan driver (apt-get install mesa-vulkan-drivers)",
    );
  }
  console.warn(
    "\n!!! WEBGPU TESTS SKIPPED: navigator.gpu yields no adapter on this machine " +
      "(apt-get install mesa-vulkan-drivers for a software one; REQUIRE_WEBGPU=1 makes this an error) !!!\n",
  );
}

/** Backends to run cross-backend tests on: all three when WebGPU is present. */
export const BACKENDS: readonly BackendName[] = WEBGPU_AVAILABLE
  ? ["cpu", "wasm", "webgpu"]
  : ["cpu", "wasm"];

/** Runs `fn` with `backend` active, restoring nothing (every test selects the backend it needs). */
export async function on<T>(backend: BackendName, fn: () => T | Promise<T>): Promise<T> {
  await selectBackend(backend);
  return await fn();
}

/** `Deno.test` options for a test that needs `backend`: ignored (with the banner above) without an adapter. */
export function needs(backend: BackendName): { ignore: boolean } {
  return { ignore: backend === "webgpu" && !WEBGPU_AVAILABLE };
}

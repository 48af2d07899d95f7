/**
 * What the benches may use, so that the bare `deno bench` (no permissions) runs what it can and
 * reports the rest as ignored, with the reason, instead of failing on the first `NotCapable`:
 *
 *   deno bench                 # no permissions: the cpu benches; wasm and data benches ignored
 *   deno bench -P=bench        # deno.json's "bench" permission set (read + env): every bench
 *   deno task bench            # the same with -A
 *
 * The wasm backend reads tfjs's `.wasm` files from disk and the data benches read MNIST, so both need
 * read access; env supplies BENCH_N and MNIST_DIR.
 *
 * @module
 */

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  // querySync never prompts: a bench run must not stop to ask.
  return Deno.permissions.querySync(descriptor).state === "granted";
}

/** Whether the benches may read files (tfjs's `.wasm` files, MNIST). */
export const CAN_READ: boolean = granted({ name: "read" });

/** Whether the benches may read every environment variable (MNIST_DIR and what locates caches). */
export const CAN_ENV: boolean = granted({ name: "env" });

/** Environment variable `name` when readable, else `undefined` (no prompt, no error). */
export function env(name: string): string | undefined {
  return granted({ name: "env", variable: name }) ? Deno.env.get(name) : undefined;
}

/** `Deno.bench` `ignore` value for a bench on `backend`: wasm needs read access to tfjs's `.wasm` files. */
export function ignoreBackend(backend: string): boolean {
  return backend === "wasm" && !CAN_READ;
}

const noted = new Set<string>();

/** Says once per kind, on stderr, which benches are skipped, why, and how to run them all. */
export function noteSkipped(what: string, why = "no read permission for tfjs's .wasm files"): void {
  if (noted.has(what)) return;
  noted.add(what);
  console.error(
    `note: ${what} ignored: ${why}. Run every bench with \`deno bench -P=bench\` or \`deno task bench\`.`,
  );
}

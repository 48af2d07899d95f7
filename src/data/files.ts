/**
 * Bytes from wherever they live: a file-system path (Deno, Node), a `file:` URL (read through the
 * file system, since Node's `fetch` cannot), or any other URL (`fetch`). The file system is reached
 * through `node:fs/promises`, imported only when a path is actually used, so importing this module in a
 * browser does no I/O and needs no Node built-ins.
 *
 * @module
 */

/** The file-system functions this library uses (`node:fs/promises`). */
export type Fs = typeof import("node:fs/promises");

let fsPromise: Promise<Fs> | undefined;

/**
 * The file system, imported on first use; a clear error where the runtime has none (a browser).
 *
 * @example
 * ```ts
 * import { fileSystem } from "./files.ts";
 * const fs = await fileSystem("read MNIST");
 * console.log((await fs.stat("deno.json")).size);
 * ```
 */
export function fileSystem(what: string): Promise<Fs> {
  fsPromise ??= import("node:fs/promises");
  return fsPromise.catch((err) => {
    fsPromise = undefined;
    throw new Error(
      `${what}: this runtime has no file system (node:fs/promises: ${(err as Error).message}); ` +
        `give a URL (or, where accepted, bytes or a tfjs IOHandler) instead of a path`,
    );
  });
}

/**
 * Whether this runtime has a file system this module can reach (Deno or Node); false in a browser.
 * Only looks: nothing is imported.
 *
 * @example
 * ```ts
 * import { hasFileSystem } from "./files.ts";
 * console.log(hasFileSystem()); // true in Deno and Node
 * ```
 */
export function hasFileSystem(): boolean {
  const g = globalThis as { Deno?: { version?: unknown }; process?: { versions?: { node?: unknown } } };
  return g.Deno?.version != null || typeof g.process?.versions?.node === "string";
}

/** True for strings with a URL scheme (`https://…`, `file:///…`, `indexeddb://…`); false for paths. */
export function hasScheme(source: string): boolean {
  // Two letters at least, so that a Windows drive ("C:\…") stays a path.
  return /^[a-z][a-z0-9+.-]+:/i.test(source);
}

/** The path of a `file:` URL (percent-decoding included). */
export function fileUrlToPath(url: URL): string {
  if (url.protocol !== "file:") throw new Error(`not a file: URL: ${url.href}`);
  const path = decodeURIComponent(url.pathname);
  // file:///C:/x → C:/x on Windows.
  return /^\/[a-z]:\//i.test(path) ? path.slice(1) : path;
}

/**
 * Reads the file at `path` as bytes; the error names `what` and the path.
 *
 * @example
 * ```ts
 * import { readFileBytes } from "./files.ts";
 * const bytes = await readFileBytes("deno.json", "read config");
 * ```
 */
export async function readFileBytes(path: string, what: string): Promise<Uint8Array> {
  const fs = await fileSystem(what);
  try {
    const b = await fs.readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (err) {
    throw new Error(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Thrown by {@linkcode readUrlBytes} when the resource does not exist (HTTP 403/404/410 or no such file). */
export class NotFoundError extends Error {}

/**
 * The bytes at `url`: `file:` through the file system, anything else through `fetch`. A missing
 * resource throws {@linkcode NotFoundError}; other failures an `Error` naming `what` and the URL.
 *
 * @example
 * ```ts
 * import { readUrlBytes } from "./files.ts";
 * const bytes = await readUrlBytes(new URL("../../deno.json", import.meta.url), "read config");
 * ```
 */
export async function readUrlBytes(url: URL, what: string): Promise<Uint8Array> {
  if (url.protocol === "file:") {
    const path = fileUrlToPath(url);
    const fs = await fileSystem(what);
    try {
      const b = await fs.readFile(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (err) {
      const message = `${what}: cannot read ${path}: ${(err as Error).message}`;
      throw (err as { code?: string }).code === "ENOENT" ? new NotFoundError(message) : new Error(message);
    }
  }
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`${what}: cannot fetch ${url.href}: ${(err as Error).message}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    const message = `${what}: ${url.href}: HTTP ${res.status} ${res.statusText}`.trim();
    // 403 too: static hosts such as S3 answer it for a missing object.
    throw [403, 404, 410].includes(res.status) ? new NotFoundError(message) : new Error(message);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Writes `files` (name → bytes or text) as the directory `dir`, atomically: a temporary sibling
 * `${dir}.tmp-*` is filled and synced first, then renamed into place; an existing `dir` is first
 * renamed aside to `${dir}.old-*` and removed once the new one is in place. A process killed midway
 * leaves the previous directory (or, between the two renames, its `.old-*` copy), never a mix.
 *
 * @example
 * ```ts
 * import { writeDirAtomic } from "./files.ts";
 * await writeDirAtomic("/tmp/example", { "a.txt": "hello", "b.bin": new Uint8Array([1, 2]) });
 * ```
 */
export async function writeDirAtomic(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  const f = await fileSystem("write " + dir);
  dir = dir.length > 1 && dir.endsWith("/") ? dir.slice(0, -1) : dir;
  const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = `${dir}.tmp-${suffix}`;
  await f.mkdir(tmp, { recursive: true });
  try {
    for (const [name, content] of Object.entries(files)) {
      const handle = await f.open(`${tmp}/${name}`, "w");
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    const exists = await f.stat(dir).then(() => true, () => false);
    if (exists) {
      const old = `${dir}.old-${suffix}`;
      await f.rename(dir, old);
      await f.rename(tmp, dir);
      await f.rm(old, { recursive: true, force: true });
    } else {
      await f.rename(tmp, dir);
    }
  } catch (err) {
    await f.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

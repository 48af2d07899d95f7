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
 * Whether this runtime has `node:fs` (Deno, Node, Bun). Asked before importing it: a browser would
 * otherwise try to fetch `node:fs/promises` as a URL and log a CORS error before this library's own.
 *
 * @example
 * ```ts
 * import { hasFileSystem } from "./files.ts";
 * console.log(hasFileSystem()); // true in Deno and Node, false in a browser
 * ```
 */
export function hasFileSystem(): boolean {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: unknown } } };
  return g.Deno !== undefined || typeof g.process?.versions?.node === "string";
}

/**
 * The file system, imported on first use; a clear error where the runtime has none (a browser),
 * without trying to import it there.
 *
 * @example
 * ```ts
 * import { fileSystem } from "./files.ts";
 * const fs = await fileSystem("read MNIST");
 * console.log((await fs.stat("deno.json")).size);
 * ```
 */
export function fileSystem(what: string): Promise<Fs> {
  const advice = "give a URL (or, where accepted, bytes or a tfjs IOHandler) instead of a path";
  if (!hasFileSystem()) {
    return Promise.reject(new Error(`${what}: this runtime (a browser?) has no file system; ${advice}`));
  }
  fsPromise ??= import("node:fs/promises");
  return fsPromise.catch((err) => {
    fsPromise = undefined;
    throw new Error(
      `${what}: this runtime has no file system (node:fs/promises: ${(err as Error).message}); ${advice}`,
    );
  });
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
 * The most bytes a read takes when its caller names no limit (256 MiB): no file this library reads
 * (MNIST's largest is 9.9 MB, the largest model's weights 68 MB) comes near it.
 */
export const DEFAULT_MAX_BYTES: number = 256 * 2 ** 20;

/** Thrown by {@linkcode readUrlBytes} when the resource does not exist (HTTP 403/404/410 or no such file). */
export class NotFoundError extends Error {}

/** Thrown by the reads here when a file or response is larger than the limit the caller gave. */
export class TooLargeError extends Error {}

/**
 * The regular file at `path`, refused before it is read when it is larger than `maxBytes` (or is not
 * a regular file: a FIFO or device would never end). `ENOENT` becomes {@linkcode NotFoundError}.
 */
async function readRegularFile(fs: Fs, path: string, what: string, maxBytes: number): Promise<Uint8Array> {
  try {
    const stat = await fs.stat(path);
    if (!stat.isFile()) throw new Error("not a regular file");
    if (stat.size > maxBytes) {
      throw new TooLargeError(
        `${what}: ${path} has ${stat.size} bytes, more than the ${maxBytes} expected; nothing was read`,
      );
    }
    const b = await fs.readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (err) {
    if (err instanceof TooLargeError) throw err;
    const message = `${what}: cannot read ${path}: ${(err as Error).message}`;
    throw (err as { code?: string }).code === "ENOENT" ? new NotFoundError(message) : new Error(message);
  }
}

/**
 * Reads the file at `path` as bytes, at most `maxBytes` of them (a larger file is refused before it
 * is read); the error names `what` and the path.
 *
 * @example
 * ```ts
 * import { readFileBytes } from "./files.ts";
 * const bytes = await readFileBytes("deno.json", "read config", 1 << 20);
 * ```
 */
export async function readFileBytes(
  path: string,
  what: string,
  maxBytes: number = DEFAULT_MAX_BYTES,
): Promise<Uint8Array> {
  return readRegularFile(await fileSystem(what), path, what, maxBytes);
}

/**
 * The body of `res`, streamed, refused as soon as it passes `maxBytes` (or when its Content-Length
 * says it would): an endless or oversized response never grows past the limit in memory.
 *
 * @example
 * ```ts
 * import { readResponseBytes } from "./files.ts";
 * const bytes = await readResponseBytes(new Response("hello"), "https://example.org/x", "read x", 1024);
 * ```
 */
export async function readResponseBytes(
  res: Response,
  where: string,
  what: string,
  maxBytes: number,
): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new TooLargeError(
      `${what}: ${where} has ${declared} bytes (Content-Length), more than the ${maxBytes} expected`,
    );
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new TooLargeError(
        `${what}: ${where} sends more than the ${maxBytes} bytes expected; stopped reading`,
      );
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  chunks.reduce((offset, c) => (out.set(c, offset), offset + c.byteLength), 0);
  return out;
}

/**
 * The bytes at `url`: `file:` through the file system, anything else through `fetch`, at most
 * `maxBytes` of them (a larger file or response is refused with {@linkcode TooLargeError} before it is
 * held in memory). A missing resource throws {@linkcode NotFoundError}; other failures an `Error`
 * naming `what` and the URL.
 *
 * @example
 * ```ts
 * import { readUrlBytes } from "./files.ts";
 * const bytes = await readUrlBytes(new URL("../../deno.json", import.meta.url), "read config");
 * ```
 */
export async function readUrlBytes(
  url: URL,
  what: string,
  maxBytes: number = DEFAULT_MAX_BYTES,
): Promise<Uint8Array> {
  if (url.protocol === "file:") {
    return readRegularFile(await fileSystem(what), fileUrlToPath(url), what, maxBytes);
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
  return readResponseBytes(res, url.href, what, maxBytes);
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
  if (dir === "") throw new Error("cannot write a directory with an empty path");
  dir = dir.length > 1 && dir.endsWith("/") ? dir.slice(0, -1) : dir;
  const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = `${dir}.tmp-${suffix}`;
  try {
    await f.mkdir(tmp, { recursive: true });
  } catch (err) {
    // Named by the directory asked for, not the temp name beside it.
    throw new Error(`cannot write ${dir}: ${(err as Error).message.replaceAll(tmp, dir)}`);
  }
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
    throw new Error(`cannot write ${dir}: ${(err as Error).message.replaceAll(tmp, dir)}`);
  }
}

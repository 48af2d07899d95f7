/**
 * `loadMnist`: the four official MNIST files, located, optionally downloaded, verified and decoded.
 *
 * @module
 */
import { fileSystem, readResponseBytes, readUrlBytes } from "./files.ts";
import { gunzip, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx } from "./idx.ts";
import { md5Hex } from "./md5.ts";

/**
 * One half of MNIST: `count` images of 28×28 uint8 pixels (0..255, row-major) and their labels 0..9.
 *
 * @example
 * ```ts
 * import { loadMnist } from "@rnnspn/core";
 * const { test } = await loadMnist();
 * const first = test.images.subarray(0, 28 * 28); // image 0, label test.labels[0]
 * ```
 */
export interface MnistSplit {
  /** `count · 28 · 28` bytes, image after image, each row-major, 0 = background. */
  images: Uint8Array;
  /** `count` labels, each 0..9. */
  labels: Uint8Array;
  /** The number of images. */
  count: number;
}

/**
 * MNIST as `loadMnist` returns it: the 60,000 training and the 10,000 test images.
 *
 * @example
 * ```ts
 * import { loadMnist, type Mnist } from "@rnnspn/core";
 * const mnist: Mnist = await loadMnist();
 * console.log(mnist.train.count, mnist.rows, mnist.cols); // 60000 28 28
 * ```
 */
export interface Mnist {
  /** `train-images-idx3-ubyte.gz` and `train-labels-idx1-ubyte.gz`: 60,000 images. */
  train: MnistSplit;
  /** `t10k-images-idx3-ubyte.gz` and `t10k-labels-idx1-ubyte.gz`: 10,000 images. */
  test: MnistSplit;
  /** Image height in pixels (28). */
  rows: number;
  /** Image width in pixels (28). */
  cols: number;
  /** Where the files were read from: the directory, the base URL, or `"(bytes)"` for `options.files`. */
  dir: string;
}

/**
 * Options of {@linkcode loadMnist}.
 *
 * @example
 * ```ts
 * import { loadMnist } from "@rnnspn/core";
 * const mnist = await loadMnist({ dir: "/data/mnist", download: true });
 * ```
 */
export interface LoadMnistOptions {
  /** Directory holding the four `.gz` files. Default: env `MNIST_DIR`, else the cache directory. */
  dir?: string;
  /**
   * Base URL of the four `.gz` files instead of a directory (no file system needed): `http(s):` is
   * fetched, `file:` read from disk. E.g. `new URL("./mnist/", location.href)` in a page.
   */
  url?: string | URL;
  /** The four `.gz` files' bytes by name (the names of {@linkcode MNIST_FILES}), e.g. from an upload. */
  files?: Readonly<Record<string, Uint8Array>>;
  /**
   * Fetch missing files from `mirrors` into the directory (created if needed), verifying each before it is
   * atomically renamed into place. Default false: no network access.
   */
  download?: boolean;
  /** Base URLs tried in order for each missing file. Default: {@linkcode MNIST_MIRRORS}. */
  mirrors?: readonly string[];
  /**
   * Check each file's size and MD5 against the official ones. Default true; turn off only for a
   * re-compressed copy (the IDX headers are checked either way). Downloads are always verified.
   */
  verify?: boolean;
}

/**
 * The mirrors torchvision downloads MNIST from, then TensorFlow's, tried in this order.
 *
 * @example
 * ```ts
 * import { loadMnist, MNIST_MIRRORS } from "@rnnspn/core";
 * await loadMnist({ download: true, mirrors: ["https://my.mirror/mnist/", ...MNIST_MIRRORS] });
 * ```
 */
export const MNIST_MIRRORS: readonly string[] = [
  "https://ossci-datasets.s3.amazonaws.com/mnist/",
  "http://yann.lecun.com/exdb/mnist/",
  "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/**
 * The four official files with their sizes and MD5 digests (as LeCun et al. and torchvision list them).
 *
 * @example
 * ```ts
 * import { MNIST_FILES } from "@rnnspn/core";
 * console.log(MNIST_FILES.map((f) => f.name)); // what a MNIST_DIR folder must hold
 * ```
 */
export const MNIST_FILES: readonly { name: string; bytes: number; md5: string }[] = [
  { name: "train-images-idx3-ubyte.gz", bytes: 9912422, md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873" },
  { name: "train-labels-idx1-ubyte.gz", bytes: 28881, md5: "d53e105ee54ea40749a09fcbcd1e9432" },
  { name: "t10k-images-idx3-ubyte.gz", bytes: 1648877, md5: "9fb629c4189551a2d022fa330f9573f3" },
  { name: "t10k-labels-idx1-ubyte.gz", bytes: 4542, md5: "ec29112dd5afa0611ce80d1b7f02629c" },
];

const ROWS = 28;
const COLS = 28;
const DOWNLOAD_TIMEOUT_MS = 120_000;

/**
 * Loads MNIST from `options.dir`, else env `MNIST_DIR`, else `$XDG_CACHE_HOME/rnnspn/mnist` (or
 * `~/.cache/rnnspn/mnist`) — or, with no file system needed, from `options.url` (a base URL) or
 * `options.files` (the four files' bytes). Each file's size and MD5 are checked against the official
 * ones, then its IDX magic number, dimensions and length. With `download: true`, missing files are
 * fetched from `mirrors`, verified, and written atomically (temp file + rename), so a failed download
 * leaves nothing behind. Every failure is an `Error` naming the file and what was wrong.
 *
 * A directory needs file-system access (Deno: `--allow-read --allow-env`, plus `--allow-write
 * --allow-net` to download).
 *
 * @example
 * ```ts
 * import { loadMnist } from "@rnnspn/core";
 * const mnist = await loadMnist({ dir: "../shared/mnist" });
 * console.log(mnist.train.count, mnist.test.count); // 60000 10000
 * // In a browser: from the server that serves the page.
 * const web = await loadMnist({ url: new URL("./mnist/", location.href) });
 * ```
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<Mnist> {
  if (options === null || typeof options !== "object") {
    throw new Error(
      `loadMnist: options must be an object; got ${options === null ? "null" : typeof options}`,
    );
  }
  const given = (["dir", "url", "files"] as const).filter((k) => options[k] !== undefined);
  if (given.length > 1) {
    throw new Error(`loadMnist: pass one of dir, url and files; got ${given.join(" and ")}`);
  }
  const verify = options.verify ?? true;
  if (options.files !== undefined) return decode(filesFromBytes(options.files), verify, "(bytes)");
  if (options.url !== undefined) return decode(await filesFromUrl(options.url), verify, String(options.url));
  const fs = await fileSystem("loadMnist");
  const path = await import("node:path");
  const { dir, source } = await resolveDir(options.dir);
  const dirStat = await fs.stat(dir).catch(() => undefined);
  if (dirStat !== undefined && !dirStat.isDirectory()) {
    throw new Error(`loadMnist: MNIST directory ${dir} (${source}) is a file, not a directory`);
  }
  const paths = MNIST_FILES.map((f) => path.join(dir, f.name));
  const exists = await Promise.all(paths.map((p) => fs.stat(p).then((s) => s.isFile(), () => false)));
  const missing = MNIST_FILES.filter((_, i) => !exists[i]);

  if (missing.length > 0) {
    if (!options.download) {
      throw new Error(missingMessage(dir, source, dirStat !== undefined, missing.map((f) => f.name)));
    }
    await fs.mkdir(dir, { recursive: true });
    const names = missing.map((f) => f.name).join(", ");
    for (const file of missing) {
      await download(file, dir, options.mirrors ?? MNIST_MIRRORS, `${source}, missing ${names}`);
    }
  }

  const raw = await Promise.all(paths.map((p) => fs.readFile(p)));
  const gz = raw.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  return decode(gz.map((bytes, i) => ({ bytes, where: paths[i] })), verify, dir);
}

/** The four files (in {@linkcode MNIST_FILES} order) with the name each error should show. */
type NamedFiles = { bytes: Uint8Array; where: string }[];

function filesFromBytes(files: Readonly<Record<string, Uint8Array>>): NamedFiles {
  if (files === null || typeof files !== "object") {
    throw new Error(`loadMnist: files must be an object { name: Uint8Array }; got ${files}`);
  }
  const names = MNIST_FILES.map((f) => f.name);
  const unknown = Object.keys(files).filter((n) => !names.includes(n));
  const missing = names.filter((n) => files[n] === undefined);
  if (unknown.length || missing.length) {
    throw new Error(
      `loadMnist: files must hold exactly ${names.join(", ")}` +
        (missing.length ? `; missing ${missing.join(", ")}` : "") +
        (unknown.length ? `; unknown ${unknown.join(", ")}` : ""),
    );
  }
  return names.map((name) => {
    const bytes = files[name];
    if (!(bytes instanceof Uint8Array)) {
      throw new Error(
        `loadMnist: files["${name}"] must be a Uint8Array; got ${Object.prototype.toString.call(bytes)}`,
      );
    }
    return { bytes, where: `files["${name}"]` };
  });
}

async function filesFromUrl(url: string | URL): Promise<NamedFiles> {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new Error(
      `loadMnist: url must be an absolute URL (https://…, file:///…); got ${JSON.stringify(String(url))}`,
    );
  }
  if (!base.pathname.endsWith("/")) base = new URL(base.href + "/");
  // Settle all four before throwing, so a failure names the first file in MNIST_FILES order rather than
  // whichever read happened to fail first.
  const settled = await Promise.allSettled(MNIST_FILES.map(async (f) => {
    const at = new URL(f.name, base);
    return { bytes: await readUrlBytes(at, "loadMnist"), where: at.href };
  }));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<NamedFiles[number]>).value);
}

async function decode(files: NamedFiles, verify: boolean, dir: string): Promise<Mnist> {
  if (verify) MNIST_FILES.forEach((f, i) => checkFile(f, files[i].bytes, files[i].where));
  const paths = files.map((f) => f.where);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    files.map((f) => gunzip(f.bytes, f.where)),
  );
  return {
    train: decodeSplit(trainImages, trainLabels, paths[0], paths[1], 60000),
    test: decodeSplit(testImages, testLabels, paths[2], paths[3], 10000),
    rows: ROWS,
    cols: COLS,
    dir,
  };
}

function decodeSplit(
  imageBytes: Uint8Array,
  labelBytes: Uint8Array,
  imagesName: string,
  labelsName: string,
  count: number,
): MnistSplit {
  const images = parseIdx(imageBytes, imagesName, IDX_IMAGES_MAGIC, [count, ROWS, COLS]);
  const labels = parseIdx(labelBytes, labelsName, IDX_LABELS_MAGIC, [count]);
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new Error(`${labelsName}: label ${bad} is ${labels.data[bad]}, expected 0..9`);
  return { images: images.data, labels: labels.data, count };
}

/** Size first (so a truncated file says so), then MD5. */
function checkFile(file: (typeof MNIST_FILES)[number], bytes: Uint8Array, where: string): void {
  if (bytes.length < file.bytes) {
    throw new Error(`${where}: truncated: ${bytes.length} bytes, expected ${file.bytes}`);
  }
  if (bytes.length !== file.bytes) {
    throw new Error(`${where}: wrong size: ${bytes.length} bytes, expected ${file.bytes}`);
  }
  const md5 = md5Hex(bytes);
  if (md5 !== file.md5) {
    throw new Error(`${where}: checksum mismatch: md5 ${md5}, expected ${file.md5} (corrupt copy?)`);
  }
}

async function download(
  file: (typeof MNIST_FILES)[number],
  dir: string,
  mirrors: readonly string[],
  source: string,
): Promise<void> {
  const fs = await fileSystem("loadMnist");
  const path = await import("node:path");
  const target = path.join(dir, file.name);
  const failures: string[] = [];
  for (const mirror of mirrors) {
    const url = mirror.endsWith("/") ? mirror + file.name : `${mirror}/${file.name}`;
    let bytes: Uint8Array;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
      }
      bytes = await readResponseBytes(res, url, "loadMnist", file.bytes);
      checkFile(file, bytes, url);
    } catch (e) {
      failures.push(`  ${url}: ${describe(e)}`);
      continue;
    }
    // Verified in memory; write beside the target and rename, so the cache never holds a partial file.
    const temp = `${target}.${crypto.randomUUID()}.part`;
    try {
      await fs.writeFile(temp, bytes);
      await fs.rename(temp, target);
    } catch (e) {
      await fs.rm(temp, { force: true });
      throw new Error(
        `${target}: downloaded and verified, but could not be written: ${(e as Error).message}`,
      );
    }
    return;
  }
  throw new Error(
    `could not download ${file.name} into ${dir} (${source}); tried ${mirrors.length} mirror(s):\n` +
      `${failures.join("\n")}\n` +
      `Without network access, copy the four official MNIST files (${
        MNIST_FILES.map((f) => f.name).join(", ")
      }) ` +
      `into a folder and set MNIST_DIR to it, or pass { dir }.`,
  );
}

/** An error's message and its cause's (fetch hides the reason, e.g. "connection refused", in the cause). */
function describe(e: unknown): string {
  const err = e as Error & { cause?: unknown };
  const cause = err.cause instanceof Error ? err.cause.message : err.cause;
  return cause && cause !== err.message ? `${err.message} (${cause})` : String(err.message ?? e);
}

function missingMessage(dir: string, source: string, dirExists: boolean, names: string[]): string {
  const what = dirExists
    ? `MNIST files not found in ${dir} (${source}): missing ${names.join(", ")}.`
    : `MNIST directory ${dir} (${source}) does not exist: looked there for ${names.join(", ")}.`;
  return `${what}\n` +
    `Set MNIST_DIR to a folder holding the four official files (${
      MNIST_FILES.map((f) => f.name).join(", ")
    }), ` +
    `pass { dir }, or pass { download: true } to fetch them into ${dir}.`;
}

async function resolveDir(dir: string | undefined): Promise<{ dir: string; source: string }> {
  if (dir !== undefined) return { dir, source: "options.dir" };
  const { env } = await import("node:process");
  if (env.MNIST_DIR) return { dir: env.MNIST_DIR, source: "env MNIST_DIR" };
  const path = await import("node:path");
  const os = await import("node:os");
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return { dir: path.join(base, "rnnspn", "mnist"), source: "the cache directory" };
}

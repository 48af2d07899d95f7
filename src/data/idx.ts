/**
 * The IDX format of the MNIST files: gzip decompression and header checks.
 *
 * An IDX file is a big-endian header — two zero bytes, a type byte (0x08 = uint8), the number of
 * dimensions — then one uint32 per dimension, then the data. MNIST's magic numbers are therefore
 * 2051 (0x00000803: uint8, 3 dims) for images and 2049 (0x00000801: uint8, 1 dim) for labels.
 *
 * @module
 */

/**
 * Magic number of an IDX file of uint8 with 3 dimensions (MNIST images).
 *
 * @example
 * ```ts
 * import { IDX_IMAGES_MAGIC, parseIdx } from "@rnnspn/core";
 * const header = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2]);
 * const one = parseIdx(new Uint8Array([...header, 1, 2, 3, 4]), "tiny", IDX_IMAGES_MAGIC, [1, 2, 2]);
 * ```
 */
export const IDX_IMAGES_MAGIC = 2051;
/**
 * Magic number of an IDX file of uint8 with 1 dimension (MNIST labels).
 *
 * @example
 * ```ts
 * import { IDX_LABELS_MAGIC, parseIdx } from "@rnnspn/core";
 * const labels = parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]), "labels", IDX_LABELS_MAGIC, [2]);
 * console.log(labels.data); // Uint8Array [7, 3]
 * ```
 */
export const IDX_LABELS_MAGIC = 2049;

/**
 * Gunzips `bytes` with the platform's `DecompressionStream`; `name` only labels the error.
 *
 * @example
 * ```ts
 * import { gunzip, parseIdx } from "@rnnspn/core";
 * const gz = new Uint8Array(await (await fetch("https://example.org/t10k-labels-idx1-ubyte.gz")).arrayBuffer());
 * const labels = parseIdx(await gunzip(gz, "t10k labels"));
 * console.log(labels.dims); // [10000]
 * ```
 */
export async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  if (bytes.length < 18 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    throw new Error(`${name}: not a gzip file (expected the gzip signature 1f 8b, got ${hexHead(bytes)})`);
  }
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    );
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new Error(`${name}: corrupt or truncated gzip data (${(e as Error).message})`);
  }
}

function hexHead(bytes: Uint8Array, n = 2): string {
  if (bytes.length === 0) return "an empty file";
  return [...bytes.subarray(0, n)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * The header and the data of one parsed IDX file.
 *
 * @example
 * ```ts
 * import { type Idx, parseIdx } from "@rnnspn/core";
 * const idx: Idx = parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 5]));
 * console.log(idx.dims, idx.data); // [1] Uint8Array [5]
 * ```
 */
export interface Idx {
  /** The dimensions, outermost first (e.g. [60000, 28, 28]). */
  dims: number[];
  /** The uint8 payload, a view into the decompressed file. */
  data: Uint8Array;
}

/**
 * Parses an uncompressed uint8 IDX file and checks its length against its header. `magic`, when given,
 * must be its magic number (else any uint8 IDX file is accepted); `expectDims` pins dimensions from the
 * first on (null = any). `name` labels the errors.
 *
 * @example
 * ```ts
 * import { gunzip, IDX_IMAGES_MAGIC, parseIdx } from "@rnnspn/core";
 * const gz = await Deno.readFile("../shared/mnist/t10k-images-idx3-ubyte.gz");
 * const images = parseIdx(await gunzip(gz, "t10k images"), "t10k images", IDX_IMAGES_MAGIC, [10000, 28, 28]);
 * console.log(images.dims, images.data.length); // [10000, 28, 28] 7840000
 * ```
 */
export function parseIdx(
  bytes: Uint8Array,
  name = "IDX data",
  magic?: number,
  expectDims: (number | null)[] = [],
): Idx {
  if (!(bytes instanceof Uint8Array)) {
    throw new Error(`parseIdx: bytes must be a Uint8Array; got ${Object.prototype.toString.call(bytes)}`);
  }
  if (bytes.length < 4) throw new Error(`${name}: ${bytes.length} bytes, too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const actual = view.getUint32(0, false);
  if (magic === undefined) {
    if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
      throw new Error(
        `${name}: not a uint8 IDX file: its header starts ${hexHead(bytes, 4)}, expected 00 00 08`,
      );
    }
    magic = actual;
  }
  const rank = magic & 0xff;
  if (actual !== magic) {
    throw new Error(`${name}: wrong IDX magic number: expected ${magic}, got ${actual}`);
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new Error(`${name}: truncated IDX header: expected ${headerBytes} bytes, got ${bytes.length}`);
  }
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  expectDims.forEach((want, i) => {
    if (want !== null && dims[i] !== want) {
      throw new Error(
        `${name}: wrong IDX dimensions: expected ${shape(expectDims)}, got ${shape(dims)}`,
      );
    }
  });
  const count = dims.reduce((a, b) => a * b, 1);
  const have = bytes.length - headerBytes;
  if (have !== count) {
    throw new Error(
      `${name}: IDX data length does not match its header ${
        shape(dims)
      }: expected ${count} bytes, got ${have}`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

function shape(dims: (number | null)[]): string {
  return dims.map((d) => d ?? "N").join("×");
}

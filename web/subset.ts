/**
 * The demo page's MNIST: a small subset of the official files (`web/mnist_subset.bin.gz`, written by
 * `web/make_subset.ts`), checked against its SHA-256 and turned into the `Mnist` that `ClutteredMnist`
 * takes. Shared by the page's Worker, the subset script and the Chromium test, so all three build the
 * same sequences from the same bytes.
 *
 * Payload (before gzip): the 16-byte magic `RNNSPN-SUBSET-1\n`; uint32 LE test count T and clutter count
 * C; T test images (28×28 uint8 each), T labels; C clutter-source images, C labels.
 *
 * @module
 */
import { ClutteredMnist, type Mnist, Xoshiro128 } from "../mod.ts";

/** First bytes of the decompressed subset. */
export const SUBSET_MAGIC = "RNNSPN-SUBSET-1\n";
/** Test digits in the subset: MNIST t10k images 0..TEST_DIGITS−1. */
export const TEST_DIGITS = 300;
/** Clutter-source digits in the subset: MNIST train images 0..CLUTTER_DIGITS−1. */
export const CLUTTER_DIGITS = 100;
/** Data-set seed of the page's sequences (the one `examples/evaluate.ts` defaults to). */
export const DEMO_SEED = 1;
const PX = 28 * 28;
// ClutteredMnist takes more than 10,000 train images (its valid pool is the last 10,000) and crops its
// clutter bank from them: the subset's clutter digits, repeated to this many, stand in for them.
const TRAIN_STANDIN = 10100;

/** The payload `make_subset.ts` compresses: the chosen digits of `mnist`. */
export function subsetPayload(mnist: Mnist): Uint8Array {
  const out = new Uint8Array(16 + 8 + (TEST_DIGITS + CLUTTER_DIGITS) * (PX + 1));
  out.set(new TextEncoder().encode(SUBSET_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(16, TEST_DIGITS, true);
  view.setUint32(20, CLUTTER_DIGITS, true);
  let at = 24;
  for (const [split, n] of [[mnist.test, TEST_DIGITS], [mnist.train, CLUTTER_DIGITS]] as const) {
    out.set(split.images.subarray(0, n * PX), at);
    at += n * PX;
    out.set(split.labels.subarray(0, n), at);
    at += n;
  }
  return out;
}

/** SHA-256 of `bytes` as lowercase hex (WebCrypto: browsers, Workers, Deno, Node). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const body = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/** gzip of `bytes` (CompressionStream). */
export function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return pipe(bytes, new CompressionStream("gzip"));
}

/**
 * The `Mnist` of the subset file's bytes `gz`, after checking them against `sha256` (hex). Its test split
 * holds the subset's test digits; its train split the clutter digits, repeated (see `TRAIN_STANDIN`).
 */
export async function parseSubset(gz: Uint8Array, sha256: string): Promise<Mnist> {
  const seen = await sha256Hex(gz);
  if (seen !== sha256.toLowerCase()) {
    throw new Error(`MNIST subset: SHA-256 ${seen} of the ${gz.length} bytes fetched; expected ${sha256}`);
  }
  const raw = await pipe(gz, new DecompressionStream("gzip"));
  const magic = new TextDecoder().decode(raw.subarray(0, 16));
  if (magic !== SUBSET_MAGIC) throw new Error(`MNIST subset: bad magic ${JSON.stringify(magic)}`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const t = view.getUint32(16, true), c = view.getUint32(20, true);
  const expected = 24 + (t + c) * (PX + 1);
  if (raw.length !== expected || t < 1 || c < 1) {
    throw new Error(
      `MNIST subset: ${raw.length} bytes for ${t} test and ${c} clutter digits; expected ${expected}`,
    );
  }
  const testImages = raw.slice(24, 24 + t * PX), testLabels = raw.slice(24 + t * PX, 24 + t * (PX + 1));
  const c0 = 24 + t * (PX + 1);
  const clutter = raw.subarray(c0, c0 + c * PX), clutterLabels = raw.subarray(c0 + c * PX, c0 + c * (PX + 1));
  const n = Math.ceil(TRAIN_STANDIN / c) * c;
  const trainImages = new Uint8Array(n * PX), trainLabels = new Uint8Array(n);
  for (let i = 0; i < n; i += c) {
    trainImages.set(clutter, i * PX);
    trainLabels.set(clutterLabels, i);
  }
  return {
    train: { images: trainImages, labels: trainLabels, count: n },
    test: { images: testImages, labels: testLabels, count: t },
    rows: 28,
    cols: 28,
    dir: "web/mnist_subset.bin.gz",
  };
}

/** The page's data set: cluttered sequences whose digits come from the subset's test digits. */
export function demoDataset(mnist: Mnist): ClutteredMnist {
  return new ClutteredMnist(mnist, { seed: DEMO_SEED });
}

/**
 * Adds `count` 9×9 clutter patches to `image` (side × side, values in [0, 1]) the way `ClutteredMnist` does:
 * each a crop at offsets 0..18 of a random clutter digit, at a top-left corner in 0..side−10, added and
 * clipped to 1. Returns a new image; `seed` picks everything.
 */
export function addClutter(
  image: Float32Array,
  side: number,
  mnist: Mnist,
  seed: number,
  count = 8,
): Float32Array {
  const rng = new Xoshiro128(seed >>> 0);
  const patch = 9, out = image.slice(), layer = new Float32Array(side * side);
  for (let k = 0; k < count; k++) {
    const base = rng.int(0, mnist.train.count - 1) * PX;
    const ox = rng.int(0, 28 - patch - 1), oy = rng.int(0, 28 - patch - 1);
    const x = rng.int(0, side - patch - 1), y = rng.int(0, side - patch - 1);
    for (let r = 0; r < patch; r++) {
      for (let q = 0; q < patch; q++) {
        layer[(y + r) * side + x + q] = mnist.train.images[base + (oy + r) * 28 + ox + q] / 255;
      }
    }
  }
  for (let i = 0; i < out.length; i++) if (layer[i] !== 0) out[i] = Math.min(1, out[i] + layer[i]);
  return out;
}

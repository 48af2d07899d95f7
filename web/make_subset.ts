/**
 * Writes the demo page's MNIST subset, `web/mnist_subset.bin.gz`, and its SHA-256 in
 * `web/mnist_subset.json`, from the official files: MNIST t10k images 0..299 (the page's test digits) and
 * train images 0..99 (its clutter). `--check` rebuilds both in memory and fails unless they equal the
 * committed ones byte for byte.
 *
 * ```sh
 * MNIST_DIR=../shared/mnist npx -y deno@2.9.6 run -A web/make_subset.ts          # write
 * MNIST_DIR=../shared/mnist npx -y deno@2.9.6 run -A web/make_subset.ts --check  # verify
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readFile, rename, writeFile } from "node:fs/promises";
import { loadMnist } from "../mod.ts";
import { CLUTTER_DIGITS, gzip, parseSubset, sha256Hex, subsetPayload, TEST_DIGITS } from "./subset.ts";

const { values: args } = parseArgs({ options: { check: { type: "boolean", default: false } }, strict: true });
const dir = new URL(".", import.meta.url);
const binPath = new URL("mnist_subset.bin.gz", dir), jsonPath = new URL("mnist_subset.json", dir);

const gz = await gzip(subsetPayload(await loadMnist()));
const sha256 = await sha256Hex(gz);
await parseSubset(gz, sha256); // the page's own reader accepts it
const meta = JSON.stringify(
  {
    file: "mnist_subset.bin.gz",
    sha256,
    bytes: gz.length,
    test: { from: "t10k-images-idx3-ubyte.gz", first: TEST_DIGITS },
    clutter: { from: "train-images-idx3-ubyte.gz", first: CLUTTER_DIGITS },
    madeBy: "web/make_subset.ts",
  },
  null,
  2,
) + "\n";

if (args.check) {
  const [oldBin, oldJson] = await Promise.all([readFile(binPath), readFile(jsonPath, "utf8")]);
  const same = oldJson === meta && oldBin.length === gz.length && oldBin.every((b, i) => b === gz[i]);
  console.log(`make_subset --check: ${same ? "committed subset reproduced byte for byte" : "MISMATCH"}`);
  if (!same) Deno.exit(1);
} else {
  for (const [path, bytes] of [[binPath, gz], [jsonPath, new TextEncoder().encode(meta)]] as const) {
    await writeFile(new URL(`${path.href}.tmp`), bytes);
    await rename(new URL(`${path.href}.tmp`), path);
  }
  console.log(
    `wrote web/mnist_subset.bin.gz (${gz.length} bytes, SHA-256 ${sha256}) and web/mnist_subset.json`,
  );
}

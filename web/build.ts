/**
 * `deno task build:web`: builds the demo into `dist/web/` — the viewing page (`index.html`: `main.js`, and
 * `worker.js` holding this library and TensorFlow.js), the training page (`train.html`: `train_main.js`,
 * `train_worker.js`, and `rnnspn_worker.js`, the data-parallel helper Worker), tfjs's `.wasm` files, the
 * MNIST subset and the model under `model/`. Everything the pages need is in that folder (no CDN); the
 * training page also fetches full MNIST from `/mnist/`, which `deno task web` serves from `MNIST_DIR`.
 *
 * ```sh
 * npx -y deno@2.9.6 task build:web                                   # default model (see --help)
 * npx -y deno@2.9.6 run -A web/build.ts --model runs/rnn-spn/best --out /tmp/web
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleBrowser, copyWasmFiles, renameWorker, ROOT, WASM_FILES } from "../build/build.ts";
import { loadModel, loadPretrained, PRETRAINED_URL, RecurrentAttention, selectBackend } from "../mod.ts";

const HELP = `Usage: deno run -A web/build.ts [--model DIR|pretrained|random] [--out DIR] [--no-minify]

  --model  the RNN-SPN the page loads: "pretrained" (loadPretrained()'s files, copied as they are), a saved
           model directory (model.json + weights.bin, or a run directory with best/), or "random" (untrained,
           to try the page). Default: env DEMO_MODEL, else pretrained
  --out    output folder (default dist/web), replaced as a whole
`;
const { values: args } = parseArgs({
  options: {
    model: { type: "string" },
    out: { type: "string", default: "dist/web" },
    "no-minify": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});
if (args.help) {
  console.log(HELP);
  Deno.exit(0);
}
const web = fileURLToPath(new URL(".", import.meta.url));
const exists = (path: string) => stat(path).then(() => true, () => false);
const fail = (message: string): never => {
  console.error(`build:web: ${message}`);
  Deno.exit(1);
};

const out = args.out.replace(/\/$/, "");
const temp = `${out}.tmp-${Deno.pid}`;
await rm(temp, { recursive: true, force: true });
await mkdir(temp, { recursive: true });

// 1. The model into model/: the pretrained files as they are (float16 weights, manifest), or a model
// directory / fresh weights loaded (which checks them) and saved with a manifest.
const spec = args.model ?? Deno.env.get("DEMO_MODEL") ?? "pretrained";
await selectBackend("cpu");
let from: string;
await mkdir(join(temp, "model"));
if (spec === "pretrained") {
  (await loadPretrained()).dispose(); // it loads and checks out before it is shipped
  const dir = fileURLToPath(new URL(".", PRETRAINED_URL));
  for (const f of await readdir(dir)) await copyFile(join(dir, f), join(temp, "model", f));
  from = `loadPretrained() (${relative(ROOT, dir)})`;
} else {
  let model: RecurrentAttention;
  if (spec === "random") [model, from] = [new RecurrentAttention(), "untrained weights (seed 0)"];
  else {
    let dir = spec.replace(/\/$/, "");
    if (!(await exists(join(dir, "model.json"))) && (await exists(join(dir, "best", "model.json")))) {
      dir = join(dir, "best");
    }
    if (!(await exists(join(dir, "model.json")))) {
      fail(
        `--model ${spec}: no model.json there (nor in ${spec}/best); pass --model DIR, pretrained or random`,
      );
    }
    const loaded = await loadModel(dir, { accept: "rnnspn" });
    if (!(loaded instanceof RecurrentAttention)) {
      loaded.dispose();
      fail(`--model ${dir} holds a "${loaded.kind}" model; the page shows an RNN-SPN ("rnn-spn")`);
    }
    [model, from] = [loaded as RecurrentAttention, dir];
  }
  await model.save(join(temp, "model"));
  model.dispose();
}

// 2. The bundles (build/build.ts's bundler): each page (no tfjs) and its Worker (library + tfjs), and the
// data-parallel helper Worker, whose literal path the training Worker gets pointed at.
const rel = relative(ROOT, resolve(temp));
const minify = !args["no-minify"];
await bundleBrowser("web/main.ts", join(rel, "main.js"), minify);
await bundleBrowser("web/worker.ts", join(rel, "worker.js"), minify);
await bundleBrowser("web/train_main.ts", join(rel, "train_main.js"), minify);
await bundleBrowser("web/train_worker.ts", join(rel, "train_worker.js"), minify);
await bundleBrowser("build/rnnspn_worker.ts", join(rel, "rnnspn_worker.js"), minify);
await renameWorker(resolve(ROOT, rel)); // train_worker.js (worker.js does not use it)

// 3. tfjs-backend-wasm's .wasm files; the Worker passes its own folder as wasmPaths.
await copyWasmFiles(rel);

// 4. The page and the MNIST subset.
for (const f of ["index.html", "train.html", "demo.css", "mnist_subset.bin.gz", "mnist_subset.json"]) {
  await copyFile(join(web, f), join(temp, f));
}
await writeFile(
  join(temp, "build.json"),
  JSON.stringify({ model: from, built: new Date().toISOString() }, null, 2),
);

await rm(out, { recursive: true, force: true });
await rename(temp, out);

const sizes: [string, number][] = [];
const bundles = ["main.js", "worker.js", "train_main.js", "train_worker.js", "rnnspn_worker.js"];
for (const f of [...bundles, ...WASM_FILES, "mnist_subset.bin.gz", "model"]) {
  const path = join(out, f);
  const s = await stat(path);
  const bytes = s.isDirectory()
    ? (await Promise.all((await readdir(path)).map((g) => stat(join(path, g))))).reduce(
      (a, b) => a + b.size,
      0,
    )
    : s.size;
  sizes.push([f, bytes]);
}
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`build:web: wrote ${out}/ (model: ${from})`);
for (const [f, n] of sizes) console.log(`  ${f.padEnd(36)} ${kb(n).padStart(10)}`);
console.log(`  ${"total".padEnd(36)} ${kb(sizes.reduce((a, [, n]) => a + n, 0)).padStart(10)}`);

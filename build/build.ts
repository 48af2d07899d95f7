/**
 * `deno task build`: the browser and Node builds of the library, from the same source.
 *
 * - `dist/browser/`: `rnnspn.js`, one ES module holding `mod.ts`'s API and `tf` (TensorFlow.js
 *   bundled), `rnnspn_worker.js` (the data-parallel Worker, used only in cross-origin-isolated
 *   pages), and tfjs-backend-wasm's three `.wasm` files, which `selectBackend` finds beside the
 *   module itself (no CDN, no import map).
 * - In both: `pretrained/` (the weights `loadPretrained()` fetches relative to the module, and their
 *   provenance), copied from `src/models/pretrained/`; and `rnnspn.d.ts` with `types/`, the type
 *   declarations TypeScript's compiler (npm `typescript`) emits from the same source.
 * - `dist/node/`: `rnnspn.js` (the same API and `tf`; + a shared chunk and `rnnspn_worker.js`)
 *   with tfjs left as npm dependencies, a `package.json` pinning them, and — unless `--no-install`
 *   — `npm install` run there, so that `import("./dist/node/rnnspn.js")` works from Node ≥ 20.
 *
 * Other builds (the demo page) can reuse {@linkcode bundleBrowser} and {@linkcode copyWasmFiles}.
 * Every path they take is relative to the repository root, or absolute.
 *
 * Usage: `deno run -A build/build.ts [--only browser|node] [--no-install] [--out dist]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The literal worker path in `src/train/data_parallel.ts`, renamed in every bundle that holds it. */
const WORKER_LITERAL = '"./data_parallel_worker.ts"';

/** tfjs-backend-wasm's binaries: plain, SIMD, and threaded SIMD (cross-origin-isolated pages). */
export const WASM_FILES: readonly string[] = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
];

const TFJS_VERSION = "4.22.0";

/** The pretrained models' folder in the source, and how `src/models/pretrained.ts` names its URL. */
const PRETRAINED_SRC = "src/models/pretrained";
const PRETRAINED_LITERAL = '"./pretrained/rnn-spn-ds3/model.json"';

async function run(cmd: string, args: string[], cwd = ROOT): Promise<void> {
  const { spawn } = await import("node:child_process");
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: "inherit" });
    child.on("error", reject);
    child.on(
      "exit",
      (code) =>
        code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited with code ${code}`)),
    );
  });
}

/** `deno bundle` with this Deno (the one running the build). */
async function denoBundle(args: string[]): Promise<void> {
  await run(Deno.execPath(), ["bundle", "--quiet", ...args]);
}

/**
 * Points the Worker literal at `rnnspn_worker.js` (beside every output file) in the `.js` files of
 * `dir`; fails unless it is found exactly `expected` times in all (once per bundle holding the library).
 *
 * @example
 * ```ts
 * import { bundleBrowser, renameWorker } from "./build.ts";
 * await bundleBrowser("build/rnnspn.ts", "out/rnnspn.js");
 * await bundleBrowser("build/rnnspn_worker.ts", "out/rnnspn_worker.js");
 * await renameWorker("out");
 * ```
 */
export async function renameWorker(dir: string, expected = 1): Promise<void> {
  const { readdir } = await import("node:fs/promises");
  let count = 0;
  for (const name of await readdir(dir)) {
    if (!name.endsWith(".js")) continue;
    const text = await readFile(join(dir, name), "utf8");
    const found = text.split(WORKER_LITERAL).length - 1;
    if (found === 0) continue;
    count += found;
    await writeFile(join(dir, name), text.replaceAll(WORKER_LITERAL, '"./rnnspn_worker.js"'));
  }
  if (count !== expected) {
    throw new Error(
      `build: expected ${WORKER_LITERAL} ${expected} time(s) in ${dir}/*.js, found it ${count} times`,
    );
  }
}

/**
 * The Node build's `tf_prelude.js` (`src/tf_prelude.ts`, which must run before tfjs is evaluated), and
 * `import "./tf_prelude.js";` as the first line of each bundle file that imports tfjs. Inlined in the
 * bundle it would run too late: a module's imports (tfjs, external here) are evaluated before its body.
 */
async function preludeFirst(dir: string): Promise<void> {
  const { readdir } = await import("node:fs/promises");
  await denoBundle([
    "--platform",
    "deno",
    "--format",
    "esm",
    "-o",
    join(dir, "tf_prelude.js"),
    "src/tf_prelude.ts",
  ]);
  let count = 0;
  for (const name of await readdir(dir)) {
    if (!name.endsWith(".js") || name === "tf_prelude.js") continue;
    const text = await readFile(join(dir, name), "utf8");
    if (!/^import (\* as \w+ from )?"@tensorflow\/tfjs";$/m.test(text)) continue;
    await writeFile(join(dir, name), 'import "./tf_prelude.js";\n' + text);
    count++;
  }
  if (count === 0) throw new Error(`build: no ${dir}/*.js imports "@tensorflow/tfjs" (for tf_prelude.js)`);
}

/**
 * Copies the pretrained models into `dir/pretrained/`, where `PRETRAINED_URL` (resolved against the
 * bundle that holds it, which lies in `dir`) points; fails unless a `.js` file of `dir` holds that URL.
 */
async function copyPretrained(dir: string): Promise<void> {
  const { cp, readdir } = await import("node:fs/promises");
  let found = false;
  for (const name of await readdir(dir)) {
    if (name.endsWith(".js") && (await readFile(join(dir, name), "utf8")).includes(PRETRAINED_LITERAL)) {
      found = true;
    }
  }
  if (!found) throw new Error(`build: no ${dir}/*.js holds ${PRETRAINED_LITERAL} (PRETRAINED_URL moved?)`);
  await cp(resolve(ROOT, PRETRAINED_SRC), join(dir, "pretrained"), { recursive: true });
}

/** Relative `.ts` specifiers (`from "./x.ts"`, `import("../y.ts")`) → `.js`, as in the bundles. */
function jsSpecifiers(text: string): string {
  return text.replace(/((?:\bfrom|\bimport)\s*\(?\s*["'])(\.\.?\/[^"']+)\.ts(["'])/g, "$1$2.js$3");
}

/**
 * Writes the type declarations of `build/rnnspn.ts` and everything it imports into `dir/types/`
 * (the source tree's layout) and `dir/rnnspn.d.ts`, which re-exports them beside `rnnspn.js`, where
 * TypeScript looks for a module's types. The source is written for isolated declarations (what JSR
 * requires too), so the emit needs no type checking and no tfjs install: the declarations import
 * `@tensorflow/tfjs` as the user's project resolves it.
 *
 * @example
 * ```ts
 * import { emitDeclarations } from "./build.ts";
 * await emitDeclarations("dist/node"); // dist/node/rnnspn.d.ts, dist/node/types/…
 * ```
 */
export async function emitDeclarations(dir: string): Promise<void> {
  const { default: ts } = await import("typescript");
  const abs = resolve(ROOT, dir);
  const options: import("typescript").CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    types: [],
    declaration: true,
    emitDeclarationOnly: true,
    isolatedDeclarations: true,
    noCheck: true,
    allowImportingTsExtensions: true,
    rootDir: ROOT,
    outDir: join(abs, "types"),
  };
  const program = ts.createProgram([join(ROOT, "build/rnnspn.ts")], options);
  const written: Promise<void>[] = [];
  const result = program.emit(undefined, (file, text) => {
    written.push(mkdir(dirname(file), { recursive: true }).then(() => writeFile(file, jsSpecifiers(text))));
  });
  await Promise.all(written);
  const problems = [...result.diagnostics, ...program.getDeclarationDiagnostics()];
  if (problems.length > 0 || result.emitSkipped) {
    const host = {
      getCanonicalFileName: (f: string) => f,
      getCurrentDirectory: () => ROOT,
      getNewLine: () => "\n",
    };
    throw new Error(`build: declaration emit failed:\n${ts.formatDiagnostics(problems, host)}`);
  }
  await writeFile(
    join(abs, "rnnspn.d.ts"),
    "// Types of rnnspn.js, emitted from the source by `deno task build` (build/build.ts).\n" +
      'export * from "./types/build/rnnspn.js";\n',
  );
}

/**
 * Bundles `entry` for browsers into `outFile` (everything inlined, tfjs included).
 *
 * @example
 * ```ts
 * import { bundleBrowser } from "./build.ts";
 * await bundleBrowser("web/main.ts", "dist/web/main.js");
 * ```
 */
export async function bundleBrowser(entry: string, outFile: string, minify = true): Promise<void> {
  await mkdir(dirname(resolve(ROOT, outFile)), { recursive: true });
  await denoBundle([
    "--platform",
    "browser",
    "--format",
    "esm",
    ...(minify ? ["--minify"] : []),
    "-o",
    outFile,
    entry,
  ]);
}

/**
 * Copies tfjs-backend-wasm's `.wasm` files (from the package this project resolves) into `outDir`.
 *
 * @example
 * ```ts
 * import { copyWasmFiles } from "./build.ts";
 * await copyWasmFiles("dist/web");
 * ```
 */
export async function copyWasmFiles(outDir: string): Promise<void> {
  const dir = dirname(fileURLToPath(import.meta.resolve("@tensorflow/tfjs-backend-wasm")));
  await mkdir(resolve(ROOT, outDir), { recursive: true });
  for (const name of WASM_FILES) await copyFile(join(dir, name), resolve(ROOT, outDir, name));
}

/**
 * `dist/browser/`: `rnnspn.js`, `rnnspn_worker.js` and the `.wasm` files.
 *
 * @example
 * ```ts
 * import { buildBrowser } from "./build.ts";
 * await buildBrowser("dist");
 * ```
 */
export async function buildBrowser(out = "dist"): Promise<void> {
  const dir = join(out, "browser");
  await rm(resolve(ROOT, dir), { recursive: true, force: true });
  await bundleBrowser("build/rnnspn.ts", join(dir, "rnnspn.js"));
  await bundleBrowser("build/rnnspn_worker.ts", join(dir, "rnnspn_worker.js"));
  await renameWorker(resolve(ROOT, dir));
  await copyPretrained(resolve(ROOT, dir));
  await copyWasmFiles(dir);
  await emitDeclarations(dir);
}

/**
 * `dist/node/`: the ES modules, `package.json`, and (with `install`) its `node_modules`.
 *
 * @example
 * ```ts
 * import { buildNode } from "./build.ts";
 * await buildNode("dist", false);
 * ```
 */
export async function buildNode(out = "dist", install = true): Promise<void> {
  const dir = join(out, "node");
  const abs = resolve(ROOT, dir);
  // Keep node_modules between builds: npm install is then a no-op.
  const { readdir } = await import("node:fs/promises");
  for (const name of await readdir(abs).catch(() => [] as string[])) {
    if (name !== "node_modules" && name !== "package-lock.json") {
      await rm(join(abs, name), { recursive: true });
    }
  }
  await denoBundle([
    "--platform",
    "deno",
    "--format",
    "esm",
    "--code-splitting",
    // `--packages external` would inline tfjs; these keep every npm import a bare specifier.
    "--external",
    "npm:*",
    "--external",
    "@tensorflow/*",
    "--outdir",
    dir,
    "build/rnnspn.ts",
    "build/rnnspn_worker.ts",
  ]);
  await preludeFirst(abs);
  await renameWorker(abs);
  await copyPretrained(abs);
  await emitDeclarations(dir);
  const config = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8"));
  const pkg = {
    name: config.name,
    version: config.version,
    description: "Recurrent Spatial Transformer Networks for TensorFlow.js (Node build of the JSR package)",
    license: config.license,
    type: "module",
    main: "./rnnspn.js",
    types: "./rnnspn.d.ts",
    exports: { ".": { types: "./rnnspn.d.ts", default: "./rnnspn.js" } },
    engines: { node: ">=20" },
    dependencies: {
      "@tensorflow/tfjs": TFJS_VERSION,
      "@tensorflow/tfjs-backend-wasm": TFJS_VERSION,
    },
    // WebGPU is imported only when selected; without the package that backend is skipped.
    peerDependencies: { "@tensorflow/tfjs-backend-webgpu": TFJS_VERSION },
    peerDependenciesMeta: { "@tensorflow/tfjs-backend-webgpu": { optional: true } },
  };
  await writeFile(join(abs, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
  if (install) {
    await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", "--omit=peer"], abs);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      only: { type: "string" },
      out: { type: "string", default: "dist" },
      "no-install": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("usage: deno task build [--only browser|node] [--no-install] [--out dist]");
    Deno.exit(0);
  }
  if (values.only !== undefined && values.only !== "browser" && values.only !== "node") {
    console.error(`build: --only must be "browser" or "node"; got ${JSON.stringify(values.only)}`);
    Deno.exit(2);
  }
  const started = performance.now();
  if (values.only !== "node") await buildBrowser(values.out);
  if (values.only !== "browser") await buildNode(values.out, !values["no-install"]);
  console.log(`build: ${values.out}/ written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

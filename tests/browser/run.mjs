// The browser test group: serves the repository's dist/browser/, this folder, Deno's fixture and
// the golden cases on 127.0.0.1 (node:http, correct MIME types, /coi/… with COOP/COEP headers) and
// drives Debian's chromium through playwright-core (no browser download). Prints
// "browser: N passed, N failed"; exits 1 if any failed. A screenshot goes to .ci/out/browser.png.
//
// Usage: node tests/browser/run.mjs   (after `deno task build`, `deno run -A tests/node/fixture.ts` and
//        `npm ci --prefix tests/node/second_tfjs`, the second tfjs copy of the two-copies page)
// Env: CHROMIUM (default /usr/bin/chromium), FIXTURE_DIR (default .ci/out/fixture), MNIST_DIR,
//      RNNSPN_SHARED (default ../shared), OUT_DIR (default .ci/out).
import http from "node:http";
import { mkdir, readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
// A computed specifier: `deno check tests/` (CI's check step) runs before tests/browser's npm install.
const PLAYWRIGHT = "playwright-core";
const { chromium } = await import(PLAYWRIGHT);

const root = fileURLToPath(new URL("../../", import.meta.url));
const outDir = process.env.OUT_DIR ?? join(root, ".ci/out");
const routes = {
  "/dist/": join(root, "dist/"),
  "/tests/browser/": join(root, "tests/browser/"),
  "/fixture/": process.env.FIXTURE_DIR ?? join(root, ".ci/out/fixture/"),
  "/golden/": join(
    process.env.RNNSPN_SHARED ?? join(root, "../shared"),
    "golden/",
  ),
  "/wasm-copy/": join(root, "dist/browser/"),
  // ONNX Runtime Web's ES module and .wasm files (npm ci --prefix tests/ort), and the pretrained
  // weights the page exports itself.
  "/ort/": join(root, "tests/ort/node_modules/onnxruntime-web/dist/"),
  "/pretrained/": join(root, "src/models/pretrained/"),
  "/mnist/": resolve(process.env.MNIST_DIR ?? join(root, "../shared/mnist")) +
    sep,
  // A second tfjs copy (4.21.0, `npm ci --prefix tests/node/second_tfjs`) for the two-copies page.
  "/second-tfjs/": join(root, "tests/node/second_tfjs/node_modules/@tensorflow/"),
};
const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".bin": "application/octet-stream",
  ".f32": "application/octet-stream",
  ".gz": "application/gzip",
};

/**
 * The issue's "done when" page: beside rnnspn.js, one import line (plus `tf` for an input), no
 * options, no import map. Served at /dist/browser/minimal.html (it is not a file: dist/ is the build's alone).
 */
const MINIMAL = `<!doctype html><meta charset="utf-8"><title>minimal</title>
<script type="module">
import { loadPretrained, selectBackend, tf } from "./rnnspn.js";
try {
  const backend = await selectBackend();
  const model = await loadPretrained();
  const { digits } = model.predict(tf.zeros([1, 100, 100, 1]));
  globalThis.result = { backend, digits: await digits.array() };
} catch (error) {
  globalThis.result = { error: String(error?.stack ?? error) };
}
</script>`;

/**
 * A page that loads another tfjs first (tfjs-core 4.21.0 and its cpu backend as <script>s, the
 * global `tf`), then the browser build: its tensors go through the library; the console must show no
 * "already registered" flood and one @rnnspn/core line. Served at /dist/browser/two_copies.html.
 */
const TWO_COPIES = `<!doctype html><meta charset="utf-8"><title>two copies</title>
<script src="/second-tfjs/tfjs-core/dist/tf-core.min.js"></script>
<script src="/second-tfjs/tfjs-backend-cpu/dist/tf-backend-cpu.min.js"></script>
<script type="module">
const theirs = globalThis.tf;
const lib = await import("./rnnspn.js");
try {
  await lib.selectBackend("cpu");
  const model = new lib.RecurrentAttention({ steps: 2, downsampleFactor: 4, seed: 1 });
  const images = theirs.randomUniform([1, 100, 100, 1], 0, 1, "float32", 3);
  const a = await model.predict(images).logits.data();
  const b = await model.predict(lib.tf.tensor(await images.data(), [1, 100, 100, 1])).logits.data();
  globalThis.result = { theirs: theirs.version_core, ours: lib.tf.version_core, same: a.every((v, i) => v === b[i]) };
} catch (error) {
  globalThis.result = { error: String(error?.stack ?? error) };
}
</script>`;

/** Every path requested, in order (the wasmPaths test checks where the .wasm came from). */
const requests = [];

const server = http.createServer(async (request, response) => {
  let path = decodeURIComponent(new URL(request.url, "http://x").pathname);
  requests.push(path);
  // /coi/… : the same files, cross-origin isolated (SharedArrayBuffer, tfjs's threaded wasm).
  const coi = path.startsWith("/coi/");
  if (coi) path = path.slice(4);
  if (coi) {
    response.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    response.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
  }
  response.setHeader("Cross-Origin-Resource-Policy", "same-origin");
  response.setHeader("Cache-Control", "no-store");
  if (path === "/dist/browser/minimal.html" || path === "/dist/browser/two_copies.html") {
    response.writeHead(200, { "Content-Type": MIME[".html"] });
    return response.end(path.endsWith("minimal.html") ? MINIMAL : TWO_COPIES);
  }
  const prefix = Object.keys(routes).find((p) => path.startsWith(p));
  const base = prefix && routes[prefix];
  const file = base && normalize(join(base, path.slice(prefix.length)));
  try {
    if (!file || !file.startsWith(normalize(base + sep))) {
      throw new Error("outside the served folders");
    }
    if (!(await stat(file)).isFile()) throw new Error("not a file");
    const body = await readFile(file);
    response.writeHead(200, {
      "Content-Type": MIME[extname(file)] ?? "application/octet-stream",
    });
    response.end(body);
  } catch {
    response.writeHead(404, { "Content-Type": "text/plain" });
    response.end(`not found: ${path}\n`);
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  // A WebGPU adapter in headless Chromium: SwiftShader (software, a fallback adapter).
  args: ["--enable-unsafe-webgpu"],
});

let passed = 0, failed = 0;
const problems = [];

/** Opens `path` in a fresh page and runs `names` there (or all when omitted). */
async function onPage(path, names, after) {
  const page = await browser.newPage({
    viewport: { width: 1300, height: 900 },
  });
  page.on(
    "pageerror",
    (error) => problems.push(`${path}: uncaught ${error.message}`),
  );
  page.on("console", (m) => {
    if (m.type() === "error") {
      problems.push(`${path}: console.error ${m.text()}`);
    }
  });
  await page.goto(origin + path);
  await page.waitForFunction(() => globalThis.rnnspnReady === true, null, {
    timeout: 60_000,
  });
  const all = await page.evaluate(() => globalThis.rnnspnTests);
  for (const name of names ?? all) {
    if (!all.includes(name)) throw new Error(`no test named ${name}`);
    const started = performance.now();
    const outcome = await page.evaluate((n) => globalThis.rnnspnRun(n), name);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (outcome.ok) passed++;
    else failed++;
    console.log(
      `${outcome.ok ? "ok  " : "FAIL"} ${name} (${seconds} s)\n     ${
        outcome.detail.split("\n").join("\n     ")
      }`,
    );
  }
  if (after) await after(page);
  await page.close();
}

function verdict(name, ok, detail) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}\n     ${detail}`);
}

const PAGE = "/tests/browser/index.html";
const started = performance.now();
try {
  const mark = requests.length;
  await onPage(PAGE, [
    "an explicit wasmPaths wins (the .wasm comes from /wasm-copy/)",
  ]);
  const wasm = requests.slice(mark).filter((p) => p.endsWith(".wasm"));
  verdict(
    "… and the server saw the .wasm fetched from /wasm-copy/ only",
    wasm.length > 0 && wasm.every((p) => p.startsWith("/wasm-copy/")),
    `.wasm requests: ${wasm.join(", ") || "none"}`,
  );
  {
    const page = await browser.newPage();
    page.on(
      "pageerror",
      (error) => problems.push(`minimal.html: uncaught ${error.message}`),
    );
    await page.goto(`${origin}/dist/browser/minimal.html`);
    await page.waitForFunction(() => globalThis.result !== undefined, null, {
      timeout: 120_000,
    });
    const result = await page.evaluate(() => globalThis.result);
    verdict(
      "a page beside rnnspn.js, one import line, no options: selects a backend, loadPretrained() predicts",
      !result.error && result.digits?.[0]?.length === 3,
      JSON.stringify(result),
    );
    await page.close();
  }
  {
    const page = await browser.newPage();
    const messages = [];
    page.on("console", (m) => messages.push(m.text()));
    page.on("pageerror", (error) => problems.push(`two_copies.html: uncaught ${error.message}`));
    await page.goto(`${origin}/dist/browser/two_copies.html`);
    await page.waitForFunction(() => globalThis.result !== undefined, null, { timeout: 120_000 });
    const result = await page.evaluate(() => globalThis.result);
    const flood = messages.filter((m) => /already registered/.test(m)).length;
    const notes = messages.filter((m) => m.startsWith("@rnnspn/core:"));
    verdict(
      "another tfjs (<script> tfjs-core 4.21.0) loaded first: no 'already registered' flood, one line, its tensors work",
      !result.error && result.same === true && result.theirs === "4.21.0" && flood === 0 &&
        notes.length === 1 &&
        /loaded before this library's.*npm dedupe.*4\.22\.0 \(bundled in this module\)/.test(notes[0]),
      `${JSON.stringify(result)}; ${flood} "already registered" lines; ${
        notes.join(" | ") || "no @rnnspn/core line"
      }`,
    );
    await page.close();
  }
  await onPage(PAGE, [
    "a wrong wasmPaths: wasm fails naming the folder, auto falls back to cpu with the reason",
  ]);
  // The 404 of the wrong folder is logged by Chromium as a console error: expected there only.
  const expected = problems.filter((p) => /no-such-folder|404|Failed to load resource|Aborted|wasm/i.test(p));
  problems.splice(
    0,
    problems.length,
    ...problems.filter((p) => !expected.includes(p)),
  );
  await onPage(PAGE, [
    "tfjs works before selectBackend: cpu default, tf.loadLayersModel of Deno's file",
    "selectBackend() with no options picks a backend and RecurrentAttention predicts",
    "auto skips a software WebGPU adapter and says why",
    "loadMnist by URL, ClutteredMnist samples hash to Deno's, train() without outDir",
    "loadPretrained() with no options: Deno's digits on 200 test sequences, error as recorded",
    "loadMnist() without a URL: a clear error, no node:fs import",
    "golden sampler cases (wasm)",
    "golden sampler cases (cpu)",
    "golden sampler cases (webgpu)",
    "Deno's model by URL gives Deno's predictions (wasm, bitwise)",
    "Deno's model by URL gives Deno's predictions (cpu, bitwise)",
    "Deno's model by URL gives Deno's predictions (webgpu, tolerance)",
    "ONNX: exportOnnx in the page gives Deno's bytes; ORT Web (wasm) gives the library's digits and probabilities",
    "ONNX: ORT Web's WebGPU execution provider (SwiftShader) gives the library's digits (probabilities within 1e-4)",
  ], async (page) => {
    await mkdir(outDir, { recursive: true });
    await page.screenshot({
      path: join(outDir, "browser.png"),
      fullPage: true,
    });
  });
  {
    // ORT's .mjs and .wasm came from this server's /ort/ (no CDN).
    const ort = requests.filter((p) => /ort[.-].*\.(mjs|wasm)$/.test(p));
    verdict(
      "… and ORT's module and .wasm were served from /ort/ only",
      ort.some((p) => p.endsWith(".wasm")) && ort.every((p) => p.startsWith("/ort/")),
      `ORT requests: ${ort.join(", ") || "none"}`,
    );
  }
  await onPage("/coi" + PAGE, [
    "cross-origin isolated: threaded wasm, golden cases, one training step (1 and 2 workers)",
  ]);
  verdict(
    "no console message about a node: module (loadMnist() without a URL imports none)",
    !problems.some((p) => /node:/.test(p)),
    problems.filter((p) => /node:/.test(p)).join("\n     ") || "none",
  );
  verdict(
    "no uncaught errors or console errors",
    problems.length === 0,
    problems.join("\n     ") || "none",
  );
} catch (error) {
  failed++;
  console.log(`FAIL the harness itself: ${error.stack ?? error}`);
} finally {
  await browser.close();
  server.close();
}
console.log(
  `browser: ${passed} passed, ${failed} failed (${((performance.now() - started) / 1000).toFixed(0)} s)`,
);
process.exit(failed === 0 ? 0 : 1);

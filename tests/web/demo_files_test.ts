/**
 * The demo page's parts that need no browser: the shipped MNIST subset (checksum, reproducibility, the
 * sequences built from it), clutter for drawings, and the static server's MIME types and path checks.
 * The page itself is tested in Chromium by `tests/web/demo_chromium.ts`.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { addClutter, demoDataset, gzip, parseSubset, sha256Hex, TEST_DIGITS } from "../../web/subset.ts";
import { staticHandler } from "../../web/serve.ts";

const ROOT = new URL("../../", import.meta.url);
const meta = JSON.parse(await readFile(new URL("web/mnist_subset.json", ROOT), "utf8"));
const gz = new Uint8Array(await readFile(new URL(`web/${meta.file}`, ROOT)));

Deno.test("subset: the shipped file matches its SHA-256 and parses into ClutteredMnist sequences", async () => {
  assert.equal(await sha256Hex(gz), meta.sha256);
  const mnist = await parseSubset(gz, meta.sha256);
  assert.equal(mnist.test.count, TEST_DIGITS);
  assert.ok(
    mnist.train.count > 10000,
    "the clutter stand-in must exceed ClutteredMnist's 10,000 valid digits",
  );
  const ds = demoDataset(mnist);
  const a = ds.sample("test", 7), b = demoDataset(mnist).sample("test", 7);
  assert.deepEqual(a.labels, b.labels);
  assert.ok(a.image.every((v, i) => v === b.image[i]), "the same index must give the same image");
  // The labels are the subset's own labels of the digits the recipe picked.
  const picked = ds.recipe("test", 7).digits.map((d) => mnist.test.labels[d.index]);
  assert.deepEqual(Array.from(a.labels), picked);
  assert.ok(a.image.some((v) => v > 0) && a.image.every((v) => v >= 0 && v <= 1));
});

Deno.test("subset: a wrong checksum, a damaged file or a wrong payload is refused with what was seen", async () => {
  const flipped = gz.slice();
  flipped[100] ^= 1;
  await assert.rejects(
    parseSubset(flipped, meta.sha256),
    /SHA-256 [0-9a-f]{64} of the \d+ bytes fetched; expected/,
  );
  const notSubset = await gzip(new TextEncoder().encode("NOT-A-SUBSET-FILE-AT-ALL"));
  await assert.rejects(parseSubset(notSubset, await sha256Hex(notSubset)), /bad magic/);
  const short = await gzip(new TextEncoder().encode("RNNSPN-SUBSET-1\n\x05\0\0\0\x05\0\0\0"));
  await assert.rejects(parseSubset(short, await sha256Hex(short)), /bytes for 5 test and 5 clutter digits/);
});

Deno.test({
  name: "subset: web/make_subset.ts --check rebuilds the committed file byte for byte",
  ignore: !Deno.env.get("MNIST_DIR"),
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "web/make_subset.ts", "--check"],
      cwd: ROOT,
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, text);
    assert.match(text, /reproduced byte for byte/);
  },
});

Deno.test("addClutter: eight patches added and clipped, deterministic per seed, input untouched", async () => {
  const mnist = await parseSubset(gz, meta.sha256);
  const empty = new Float32Array(100 * 100);
  const a = addClutter(empty, 100, mnist, 5), b = addClutter(empty, 100, mnist, 5);
  assert.ok(empty.every((v) => v === 0), "the input must not be modified");
  assert.ok(a.every((v, i) => v === b[i]), "the same seed must give the same clutter");
  const ink = a.filter((v) => v > 0).length;
  assert.ok(ink > 0 && ink <= 8 * 81, `clutter covers ${ink} pixels; 8 patches of 9×9 cover at most 648`);
  const full = addClutter(new Float32Array(100 * 100).fill(1), 100, mnist, 5);
  assert.ok(full.every((v) => v === 1), "values are clipped to 1");
  assert.ok(addClutter(empty, 100, mnist, 6).some((v, i) => v !== a[i]), "another seed, other clutter");
});

Deno.test("serve: MIME types (application/wasm), index.html for /, 404, 405, and no way out of the root", async () => {
  const root = await mkdtemp(join(Deno.makeTempDirSync(), "web-"));
  try {
    await writeFile(join(root, "index.html"), "<p>hi</p>");
    await writeFile(join(root, "a.wasm"), new Uint8Array([0, 97, 115, 109]));
    await writeFile(join(root, "main.js"), "export {};");
    const serve = staticHandler(root);
    const get = (path: string, method = "GET") => serve(new Request(`http://127.0.0.1${path}`, { method }));
    const index = await get("/");
    assert.equal(index.status, 200);
    assert.equal(index.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await index.text(), "<p>hi</p>");
    const wasm = await get("/a.wasm");
    assert.equal(wasm.headers.get("content-type"), "application/wasm");
    assert.deepEqual(new Uint8Array(await wasm.arrayBuffer()), new Uint8Array([0, 97, 115, 109]));
    assert.equal((await get("/main.js")).headers.get("content-type"), "text/javascript; charset=utf-8");
    const missing = await get("/nope.js");
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /not found: \/nope\.js/);
    assert.equal((await get("/", "POST")).status, 405);
    // URL parsing resolves "/../" and "/%2e%2e/" itself; an encoded slash reaches the handler as "..".
    const dots = await get("/%2e%2e/%2e%2e/etc/passwd");
    assert.equal(dots.status, 404, "resolved inside the root, where there is no etc/passwd");
    await dots.body?.cancel();
    const escape = await get("/..%2f..%2fetc/passwd");
    assert.equal(escape.status, 400);
    await escape.body?.cancel();
    // Symbolic links: one leaving the root (a file or a folder outside) is refused; one inside is served.
    const outside = await mkdtemp(join(Deno.makeTempDirSync(), "outside-"));
    await writeFile(join(outside, "secret.txt"), "secret");
    await Deno.symlink(join(outside, "secret.txt"), join(root, "leak.txt"));
    await Deno.symlink(outside, join(root, "dir"));
    await Deno.symlink(join(root, "main.js"), join(root, "alias.js"));
    for (const path of ["/leak.txt", "/dir/secret.txt"]) {
      const r = await get(path);
      assert.equal(r.status, 403, path);
      assert.doesNotMatch(await r.text(), /secret$/);
    }
    assert.equal(await (await get("/alias.js")).text(), "export {};");
    await rm(outside, { recursive: true, force: true });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

Deno.test("serve: cross-origin isolated, and /mnist/ serves the four MNIST file names of its folder only", async () => {
  const tmp = Deno.makeTempDirSync();
  const root = await mkdtemp(join(tmp, "web-")), mnist = await mkdtemp(join(tmp, "mnist-"));
  try {
    await writeFile(join(root, "index.html"), "<p>hi</p>");
    await writeFile(join(mnist, "train-labels-idx1-ubyte.gz"), new Uint8Array([1, 2, 3]));
    await writeFile(join(mnist, "secret.txt"), "no");
    const get = (serve: (r: Request) => Promise<Response>, path: string) =>
      serve(new Request(`http://127.0.0.1${path}`));
    const withMnist = staticHandler(root, { mnist });
    const page = await get(withMnist, "/");
    assert.equal(page.headers.get("cross-origin-opener-policy"), "same-origin");
    assert.equal(page.headers.get("cross-origin-embedder-policy"), "require-corp");
    await page.body?.cancel();
    const labels = await get(withMnist, "/mnist/train-labels-idx1-ubyte.gz");
    assert.equal(labels.status, 200);
    assert.deepEqual(new Uint8Array(await labels.arrayBuffer()), new Uint8Array([1, 2, 3]));
    assert.equal(labels.headers.get("cross-origin-embedder-policy"), "require-corp");
    const other = await get(withMnist, "/mnist/secret.txt");
    assert.equal(other.status, 404);
    assert.match(await other.text(), /secret\.txt is not an MNIST file/);
    const absent = await get(withMnist, "/mnist/t10k-images-idx3-ubyte.gz"); // a valid name not in the folder
    assert.equal(absent.status, 404);
    await absent.body?.cancel();
    const escape = await get(withMnist, "/mnist/..%2fsecret.txt");
    assert.equal(escape.status, 400);
    await escape.body?.cancel();
    const none = await get(staticHandler(root), "/mnist/train-labels-idx1-ubyte.gz");
    assert.equal(none.status, 404);
    assert.match(await none.text(), /no MNIST_DIR given to the server/);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

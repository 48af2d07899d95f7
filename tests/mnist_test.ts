import assert from "node:assert/strict";
import { join } from "node:path";
import { loadMnist, MNIST_FILES } from "../mod.ts";
import { md5Hex } from "../src/data/md5.ts";

const SHARED = Deno.env.get("MNIST_DIR") ?? "../shared/mnist";
const [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS] = MNIST_FILES.map((f) => f.name);

/** A temp dir holding copies of the four shared files, with `edits` applied (name → new bytes). */
async function copyWith(edits: Record<string, Uint8Array> = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "rnnspn_mnist_" });
  for (const { name } of MNIST_FILES) {
    await Deno.writeFile(join(dir, name), edits[name] ?? await Deno.readFile(join(SHARED, name)));
  }
  return dir;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** An uncompressed IDX file: magic, dims, then `fill` for every data byte. */
function idx(magic: number, dims: number[], dataBytes = dims.reduce((a, b) => a * b, 1)): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + dataBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  return out;
}

Deno.test("MD5 matches RFC 1321's test suite", () => {
  const cases: [string, string][] = [
    ["", "d41d8cd98f00b204e9800998ecf8427e"],
    ["a", "0cc175b9c0f1b6a831c399e269772661"],
    ["abc", "900150983cd24fb0d6963f7d28e17f72"],
    ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
    ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
    ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"],
    ["1234567890".repeat(8), "57edf4a22be3c955ac49da2e2107b67a"],
  ];
  for (const [text, digest] of cases) assert.equal(md5Hex(new TextEncoder().encode(text)), digest, text);
});

Deno.test("loadMnist reads MNIST_DIR: counts, label histograms and mean pixel of the official files", async () => {
  const t0 = performance.now();
  const mnist = await loadMnist();
  console.log(`  loaded in ${(performance.now() - t0).toFixed(0)} ms from ${mnist.dir}`);
  assert.equal(mnist.train.count, 60000);
  assert.equal(mnist.test.count, 10000);
  assert.equal(mnist.train.images.length, 60000 * 784);
  assert.equal(mnist.test.images.length, 10000 * 784);
  const histogram = (labels: Uint8Array) => labels.reduce((h, l) => (h[l]++, h), new Array(10).fill(0));
  // Published facts about MNIST (see ../shared/mnist/SOURCE.md).
  assert.deepEqual(histogram(mnist.train.labels), [
    5923,
    6742,
    5958,
    6131,
    5842,
    5421,
    5918,
    6265,
    5851,
    5949,
  ]);
  assert.deepEqual(histogram(mnist.test.labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  const mean = (a: Uint8Array) => a.reduce((s, v) => s + v, 0) / a.length;
  assert.equal(mean(mnist.train.images).toFixed(4), "33.3184");
  assert.equal(mean(mnist.test.images).toFixed(4), "33.7912");
});

Deno.test("a missing directory, and missing files, say what was looked for where and how to fix it", async () => {
  const root = await Deno.makeTempDir();
  const nowhere = join(root, "nope");
  await assert.rejects(() => loadMnist({ dir: nowhere }), (e: Error) => {
    assert.match(e.message, new RegExp(`MNIST directory ${nowhere} \\(options.dir\\) does not exist`));
    for (const { name } of MNIST_FILES) assert.ok(e.message.includes(name), name);
    assert.match(e.message, /Set MNIST_DIR to a folder holding the four official files/);
    return true;
  });
  // A file where the directory should be is named as such (was: "does not exist").
  const file = join(root, "a-file");
  await Deno.writeTextFile(file, "x");
  await assert.rejects(
    () => loadMnist({ dir: file }),
    new RegExp(`^Error: loadMnist: MNIST directory ${file} \\(options.dir\\) is a file, not a directory$`),
  );
  const partial = await copyWith();
  await Deno.remove(join(partial, TEST_LABELS));
  await assert.rejects(
    () => loadMnist({ dir: partial }),
    new RegExp(`MNIST files not found in ${partial} \\(options.dir\\): missing ${TEST_LABELS}\\.`),
  );
  // Neither dir nor MNIST_DIR: the cache directory under XDG_CACHE_HOME.
  const saved = { mnist: Deno.env.get("MNIST_DIR"), xdg: Deno.env.get("XDG_CACHE_HOME") };
  try {
    Deno.env.delete("MNIST_DIR");
    Deno.env.set("XDG_CACHE_HOME", root);
    await assert.rejects(
      () => loadMnist(),
      new RegExp(`MNIST directory ${join(root, "rnnspn", "mnist")} \\(the cache directory\\) does not exist`),
    );
  } finally {
    if (saved.mnist === undefined) Deno.env.delete("MNIST_DIR");
    else Deno.env.set("MNIST_DIR", saved.mnist);
    if (saved.xdg === undefined) Deno.env.delete("XDG_CACHE_HOME");
    else Deno.env.set("XDG_CACHE_HOME", saved.xdg);
  }
  await Deno.remove(root, { recursive: true });
  await Deno.remove(partial, { recursive: true });
});

Deno.test("truncated, wrong-checksum and corrupt files are rejected by name", async () => {
  const labels = await Deno.readFile(join(SHARED, TRAIN_LABELS));
  const truncated = await copyWith({ [TRAIN_LABELS]: labels.slice(0, 20000) });
  await assert.rejects(
    () => loadMnist({ dir: truncated }),
    new RegExp(`${join(truncated, TRAIN_LABELS)}: truncated: 20000 bytes, expected 28881`),
  );
  const flipped = labels.slice();
  flipped[10000] ^= 0x40;
  const corrupt = await copyWith({ [TRAIN_LABELS]: flipped });
  await assert.rejects(
    () => loadMnist({ dir: corrupt }),
    new RegExp(
      `${join(corrupt, TRAIN_LABELS)}: checksum mismatch: md5 [0-9a-f]{32}, expected ${MNIST_FILES[1].md5}`,
    ),
  );
  // With the checksum check off, the gzip layer still refuses them.
  await assert.rejects(
    () => loadMnist({ dir: truncated, verify: false }),
    new RegExp(`${join(truncated, TRAIN_LABELS)}: corrupt or truncated gzip data`),
  );
  const notGzip = await copyWith({ [TEST_IMAGES]: new TextEncoder().encode("<html>404 Not Found</html>") });
  await assert.rejects(
    () => loadMnist({ dir: notGzip, verify: false }),
    new RegExp(
      `${join(notGzip, TEST_IMAGES)}: not a gzip file \\(expected the gzip signature 1f 8b, got 3c 68\\)`,
    ),
  );
  for (const dir of [truncated, corrupt, notGzip]) await Deno.remove(dir, { recursive: true });
});

Deno.test("wrong IDX magic, dimensions or data length are rejected by name", async () => {
  const cases: [string, Uint8Array, RegExp][] = [
    [TEST_LABELS, idx(2051, [10000]), /wrong IDX magic number: expected 2049, got 2051/],
    [TRAIN_IMAGES, idx(2049, [60000]), /wrong IDX magic number: expected 2051, got 2049/],
    [TEST_IMAGES, idx(2051, [10000, 28, 27]), /wrong IDX dimensions: expected 10000×28×28, got 10000×28×27/],
    [TEST_LABELS, idx(2049, [9999]), /wrong IDX dimensions: expected 10000, got 9999/],
    [
      TEST_LABELS,
      idx(2049, [10000], 9000),
      /data length does not match its header 10000: expected 10000 bytes, got 9000/,
    ],
    [TEST_LABELS, idx(2049, [10000]).fill(10, 8), /label 0 is 10, expected 0\.\.9/],
  ];
  const dir = await copyWith();
  for (const [name, raw, pattern] of cases) {
    const original = await Deno.readFile(join(SHARED, name));
    await Deno.writeFile(join(dir, name), await gzip(raw));
    await assert.rejects(() => loadMnist({ dir, verify: false }), (e: Error) => {
      assert.ok(e.message.startsWith(`${join(dir, name)}: `), e.message);
      assert.match(e.message, pattern);
      return true;
    });
    await Deno.writeFile(join(dir, name), original);
  }
  await Deno.remove(dir, { recursive: true });
});

/** A local mirror: /good/ serves the shared files, /short/ truncates them, anything else is a 404. */
function serveMirror(): Deno.HttpServer<Deno.NetAddr> & { base: string; hits: string[] } {
  const hits: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const { pathname } = new URL(req.url);
    hits.push(pathname);
    const [, kind, name] = pathname.split("/");
    if (!MNIST_FILES.some((f) => f.name === name) || (kind !== "good" && kind !== "short")) {
      return new Response("not found", { status: 404 });
    }
    const bytes = await Deno.readFile(join(SHARED, name));
    return new Response(kind === "good" ? bytes : bytes.slice(0, bytes.length >> 1));
  });
  return Object.assign(server, { base: `http://127.0.0.1:${server.addr.port}`, hits });
}

Deno.test("download: tries mirrors in order, verifies, writes atomically, leaves nothing half-written", async () => {
  const server = serveMirror();
  const root = await Deno.makeTempDir();
  try {
    const target = join(root, "cache", "mnist");
    const mirrors = [`${server.base}/missing/`, `${server.base}/short/`, `${server.base}/good`];
    const mnist = await loadMnist({ dir: target, download: true, mirrors });
    assert.equal(mnist.train.count, 60000);
    const names = [...Deno.readDirSync(target)].map((e) => e.name).sort();
    assert.deepEqual(names, MNIST_FILES.map((f) => f.name).sort());
    for (const f of MNIST_FILES) assert.equal(Deno.statSync(join(target, f.name)).size, f.bytes);
    assert.deepEqual(server.hits.slice(0, 3), [
      `/missing/${TRAIN_IMAGES}`,
      `/short/${TRAIN_IMAGES}`,
      `/good/${TRAIN_IMAGES}`,
    ]);
    // A second load finds the files and fetches nothing.
    const before = server.hits.length;
    await loadMnist({ dir: target, download: true, mirrors });
    assert.equal(server.hits.length, before);

    // Only bad mirrors: a clear error per mirror, and the cache stays empty.
    const empty = join(root, "empty");
    await assert.rejects(
      () =>
        loadMnist({ dir: empty, download: true, mirrors: [`${server.base}/short/`, `${server.base}/x/`] }),
      (e: Error) => {
        assert.match(e.message, new RegExp(`could not download ${TRAIN_IMAGES} into ${empty}`));
        assert.match(
          e.message,
          /short\/train-images-idx3-ubyte.gz: truncated: 4956211 bytes, expected 9912422/,
        );
        assert.match(e.message, /x\/train-images-idx3-ubyte.gz: HTTP 404/);
        assert.match(e.message, /set MNIST_DIR to it/);
        return true;
      },
    );
    assert.deepEqual([...Deno.readDirSync(empty)], []);
  } finally {
    await server.shutdown();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("download without a network: the error names the files, the folder, and MNIST_DIR", async () => {
  // A port that was just free: connections to it are refused, as on a machine with no network.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const root = await Deno.makeTempDir();
  const dir = join(root, "mnist");
  await assert.rejects(
    () => loadMnist({ dir, download: true, mirrors: [`http://127.0.0.1:${port}/mnist/`] }),
    (e: Error) => {
      assert.match(
        e.message,
        new RegExp(
          `could not download ${TRAIN_IMAGES} into ${dir} \\(options.dir, missing ${
            MNIST_FILES.map((f) => f.name).join(", ")
          }\\)`,
        ),
      );
      assert.match(e.message, new RegExp(`http://127.0.0.1:${port}/mnist/${TRAIN_IMAGES}: `));
      for (const { name } of MNIST_FILES) assert.ok(e.message.includes(name), name);
      assert.match(e.message, /set MNIST_DIR to it, or pass \{ dir \}/);
      console.log(`  ${e.message.split("\n").join("\n  ")}`);
      return true;
    },
  );
  assert.deepEqual([...Deno.readDirSync(dir)], []);
  await Deno.remove(root, { recursive: true });
});

Deno.test("loadMnist without a file system path: a base URL (file:, http:) or the four files' bytes, still verified", async () => {
  const fromDir = await loadMnist({ dir: SHARED });
  const same = (m: Awaited<ReturnType<typeof loadMnist>>, what: string) => {
    assert.equal(m.train.count, 60000, what);
    assert.deepEqual(m.test.labels, fromDir.test.labels, what);
    assert.equal(md5Hex(m.train.images), md5Hex(fromDir.train.images), what);
  };
  const fileUrl = new URL(`file://${await Deno.realPath(SHARED)}/`);
  same(await loadMnist({ url: fileUrl }), "file: URL");
  const bytes = Object.fromEntries(
    await Promise.all(
      MNIST_FILES.map(async (f) => [f.name, await Deno.readFile(join(SHARED, f.name))] as const),
    ),
  );
  const fromBytes = await loadMnist({ files: bytes });
  same(fromBytes, "bytes");
  assert.equal(fromBytes.dir, "(bytes)");
  const hits: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const name = new URL(req.url).pathname.split("/").pop()!;
    hits.push(name);
    return bytes[name] ? new Response(bytes[name]) : new Response("no", { status: 404 });
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}/data`;
    same(await loadMnist({ url: base }), "http URL");
    assert.deepEqual(hits.sort(), MNIST_FILES.map((f) => f.name).sort());
  } finally {
    await server.shutdown();
  }
  // Checksums are still verified; bad or missing bytes are named.
  const bad = { ...bytes, [TEST_LABELS]: bytes[TEST_LABELS].slice() };
  bad[TEST_LABELS][100] ^= 1;
  await assert.rejects(
    () => loadMnist({ files: bad }),
    new RegExp(
      `files\\["${TEST_LABELS}"\\]: checksum mismatch: md5 [0-9a-f]+, expected ec29112dd5afa0611ce80d1b7f02629c`,
    ),
  );
  const { [TRAIN_LABELS]: _, ...three } = bytes;
  await assert.rejects(
    () => loadMnist({ files: { ...three, "x.gz": bytes[TEST_LABELS] } }),
    /missing train-labels-idx1-ubyte\.gz; unknown x\.gz/,
  );
  await assert.rejects(
    () => loadMnist({ files: { ...bytes, [TRAIN_LABELS]: [1, 2] as never } }),
    /files\["train-labels-idx1-ubyte\.gz"\] must be a Uint8Array; got \[object Array\]/,
  );
  await assert.rejects(
    () => loadMnist({ dir: SHARED, url: fileUrl }),
    /pass one of dir, url and files; got dir and url/,
  );
  await assert.rejects(() => loadMnist({ url: "mnist/" }), /url must be an absolute URL/);
  await assert.rejects(
    () => loadMnist({ url: new URL("file:///nonexistent/") }),
    /cannot read \/nonexistent\/train-images-idx3-ubyte\.gz/,
  );
});

Deno.test("parseIdx is exported: any uint8 IDX file without a magic number, checked against its header", async () => {
  const { gunzip, IDX_LABELS_MAGIC, parseIdx } = await import("../mod.ts");
  const labels = parseIdx(await gunzip(await Deno.readFile(join(SHARED, TEST_LABELS)), TEST_LABELS));
  assert.deepEqual(labels.dims, [10000]);
  assert.equal(labels.data[0], 7); // the first test digit is a 7
  const one = idx(IDX_LABELS_MAGIC, [3]);
  assert.deepEqual(parseIdx(one).data, new Uint8Array(3));
  assert.throws(
    () => parseIdx(one.subarray(0, 9)),
    /IDX data: IDX data length does not match its header 3: expected 3 bytes, got 1/,
  );
  assert.throws(
    () => parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 0])),
    /not a uint8 IDX file: its header starts 00 00 0d 01/,
  );
  assert.throws(() => parseIdx([0, 0, 8, 1] as never), /bytes must be a Uint8Array/);
});

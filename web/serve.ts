/**
 * `deno task web`: serves the built demo (`dist/web/`, see `web/build.ts`) on 127.0.0.1 with the right MIME
 * types (`application/wasm` included, which `WebAssembly.instantiateStreaming` requires), cross-origin
 * isolated (COOP `same-origin`, COEP `require-corp`: SharedArrayBuffer, so tfjs's threaded wasm and the
 * training page's data-parallel Workers can use every core), and the four MNIST `.gz` files of `MNIST_DIR`
 * (or `--mnist DIR`) under `/mnist/` for the training page.
 *
 * ```sh
 * MNIST_DIR=../shared/mnist npx -y deno@2.9.6 run --allow-net=127.0.0.1 --allow-env=MNIST_DIR --allow-read \
 *   web/serve.ts --port 8000
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { MNIST_FILES } from "../src/data/mnist.ts";

/** Content types by file extension; anything else is served as bytes. */
export const MIME_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".bin": "application/octet-stream",
  ".gz": "application/octet-stream",
  ".png": "image/png",
  ".css": "text/css; charset=utf-8",
};

/** Headers of every response: cross-origin isolation, and no caching (a rebuilt page is seen at once). */
export const ISOLATION_HEADERS: Record<string, string> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
  "cache-control": "no-cache",
};

/**
 * A handler serving the files under `root` (GET and HEAD only); `/` is `index.html`. Paths that leave
 * `root` are refused, through `..` or through a symbolic link that resolves outside it (a link inside
 * the root to a file inside it is served). With `mnist` (a directory), `/mnist/NAME` serves that
 * directory's file NAME for the four official MNIST file names only (anything else there is 404).
 *
 * @example
 * ```ts
 * import { staticHandler } from "./serve.ts";
 * Deno.serve({ hostname: "127.0.0.1", port: 8000 }, staticHandler("dist/web", { mnist: "../shared/mnist" }));
 * ```
 */
export function staticHandler(
  root: string,
  options: { mnist?: string } = {},
): (request: Request) => Promise<Response> {
  const base = root.replace(/\/$/, "");
  let realRoot: Promise<string> | undefined;
  const mnist = options.mnist?.replace(/\/$/, "");
  const names = new Set(MNIST_FILES.map((f) => f.name));
  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed", { status: 405 });
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(request.url).pathname);
    } catch {
      return new Response("bad path", { status: 400 });
    }
    if (path.endsWith("/")) path += "index.html";
    if (path.split("/").some((part) => part === ".." || part.includes("\\")) || path.includes("\0")) {
      return new Response("bad path", { status: 400, headers: ISOLATION_HEADERS });
    }
    let file = `${base}${path}`;
    if (path.startsWith("/mnist/")) {
      // Only the four file names, from MNIST_DIR itself: nothing else of that folder is reachable.
      const name = path.slice("/mnist/".length);
      if (!mnist || !names.has(name)) {
        const why = mnist ? `${name} is not an MNIST file` : "no MNIST_DIR given to the server";
        return new Response(`not found: ${path} (${why})`, { status: 404, headers: ISOLATION_HEADERS });
      }
      file = `${mnist}/${name}`;
    }
    let body: Uint8Array;
    try {
      if (file.startsWith(`${base}/`)) {
        // Where the path really leads, links followed: it must stay under the root's own real path.
        realRoot ??= Deno.realPath(base);
        const [rootReal, fileReal] = await Promise.all([realRoot, Deno.realPath(file)]);
        if (!fileReal.startsWith(rootReal.endsWith("/") ? rootReal : `${rootReal}/`)) {
          return new Response("bad path: it leaves the served folder", {
            status: 403,
            headers: ISOLATION_HEADERS,
          });
        }
      }
      body = await Deno.readFile(file);
    } catch {
      return new Response(`not found: ${path}`, { status: 404, headers: ISOLATION_HEADERS });
    }
    const ext = path.slice(path.lastIndexOf(".")).toLowerCase();
    const headers = { ...ISOLATION_HEADERS, "content-type": MIME_TYPES[ext] ?? "application/octet-stream" };
    return new Response(request.method === "HEAD" ? null : body as Uint8Array<ArrayBuffer>, { headers });
  };
}

if (import.meta.main) {
  const { values: args } = parseArgs({
    options: {
      port: { type: "string", default: "8000" },
      root: { type: "string", default: "dist/web" },
      mnist: { type: "string" },
    },
    strict: true,
  });
  const port = Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port must be an integer in [0, 65535]; got ${JSON.stringify(args.port)}`);
    Deno.exit(2);
  }
  try {
    await Deno.stat(`${args.root}/index.html`);
  } catch {
    console.error(`serve: ${args.root}/index.html not found; build the page first (deno task build:web)`);
    Deno.exit(1);
  }
  const mnist = args.mnist ?? Deno.env.get("MNIST_DIR");
  const found = mnist !== undefined &&
    await Deno.stat(`${mnist}/${MNIST_FILES[0].name}`).then(() => true, () => false);
  Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: ({ port }) =>
      console.log(
        `demo: http://127.0.0.1:${port}/ (serving ${args.root}; training page: ` +
          `http://127.0.0.1:${port}/train.html, MNIST ${
            found ? `from ${mnist}` : `missing: ${mnist ? `${mnist} has no MNIST files` : "set MNIST_DIR"}`
          })`,
      ),
  }, staticHandler(args.root, { mnist: found ? mnist : undefined }));
}

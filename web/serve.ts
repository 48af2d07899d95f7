/**
 * `deno task web`: serves the built demo (`dist/web/`, see `web/build.ts`) on 127.0.0.1 with the right MIME
 * types (`application/wasm` included, which `WebAssembly.instantiateStreaming` requires).
 *
 * ```sh
 * npx -y deno@2.9.6 run --allow-net=127.0.0.1 --allow-read=dist/web web/serve.ts --port 8000
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";

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

/**
 * A handler serving the files under `root` (GET and HEAD only); `/` is `index.html`. Paths that leave
 * `root` are refused, through `..` or through a symbolic link that resolves outside it (a link inside
 * the root to a file inside it is served).
 *
 * @example
 * ```ts
 * import { staticHandler } from "./serve.ts";
 * Deno.serve({ hostname: "127.0.0.1", port: 8000 }, staticHandler("dist/web"));
 * ```
 */
export function staticHandler(root: string): (request: Request) => Promise<Response> {
  const base = root.replace(/\/$/, "");
  let realRoot: Promise<string> | undefined;
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
      return new Response("bad path", { status: 400 });
    }
    let body: Uint8Array;
    try {
      // Where the path really leads, links followed: it must stay under the root's own real path.
      realRoot ??= Deno.realPath(base);
      const [rootReal, fileReal] = await Promise.all([realRoot, Deno.realPath(`${base}${path}`)]);
      if (!fileReal.startsWith(rootReal.endsWith("/") ? rootReal : `${rootReal}/`)) {
        return new Response("bad path: it leaves the served folder", { status: 403 });
      }
      body = await Deno.readFile(`${base}${path}`);
    } catch {
      return new Response(`not found: ${path}`, { status: 404 });
    }
    const ext = path.slice(path.lastIndexOf(".")).toLowerCase();
    const headers = {
      "content-type": MIME_TYPES[ext] ?? "application/octet-stream",
      "cache-control": "no-cache",
    };
    return new Response(request.method === "HEAD" ? null : body as Uint8Array<ArrayBuffer>, { headers });
  };
}

if (import.meta.main) {
  const { values: args } = parseArgs({
    options: { port: { type: "string", default: "8000" }, root: { type: "string", default: "dist/web" } },
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
  Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: ({ port }) => console.log(`demo: http://127.0.0.1:${port}/ (serving ${args.root})`),
  }, staticHandler(args.root));
}

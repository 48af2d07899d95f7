/**
 * Helpers of `demo_chromium.ts`: `deno task web` as a child process, the page's test handle, and a tiny
 * check runner that keeps going after a failure and prints "N passed, M failed".
 *
 * @module
 */
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from "playwright-core";

/** What the page's `demo.sequence(i)` gives, as plain arrays. */
export interface PageResult {
  digits: number[];
  labels: number[] | null;
  theta: number[];
  image: number[];
  ms: number;
}

/** Starts `deno task web --port 0` and returns its URL and a stop function. */
export async function serve(root: URL): Promise<{ url: string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "web", "--port", "0"],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`deno task web ended before serving:\n${text}`);
    text += value;
    const m = text.match(/demo: (http:\/\/127\.0\.0\.1:\d+\/)/);
    if (m) {
      console.log(text.trim());
      // Keep draining stdout so the server never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done);
      })();
      return {
        url: m[1],
        stop: async () => {
          child.kill("SIGTERM");
          await child.status;
        },
      };
    }
  }
}

/** The page's prediction of test sequence `index` (through the same code as its buttons). */
export async function sequence(page: Page, index: number): Promise<PageResult> {
  return await page.evaluate(async (i) => {
    // deno-lint-ignore no-explicit-any
    const r = await (globalThis as any).demo.sequence(i);
    return {
      digits: r.digits,
      labels: r.labels,
      theta: Array.from(r.theta),
      image: Array.from(r.image),
      ms: r.ms,
    };
  }, index) as PageResult;
}

/**
 * `deno task web` (see {@linkcode serve}), Debian's Chromium (env CHROMIUM) and a browser context with
 * `options`. On a failure it prints the FAIL line and the group's summary ("`group`: 0 passed, 1 failed")
 * and exits 1.
 */
export async function setUp(
  root: URL,
  group: string,
  options: BrowserContextOptions,
): Promise<{ server: Awaited<ReturnType<typeof serve>>; browser: Browser; context: BrowserContext }> {
  try {
    const server = await serve(root);
    const browser = await chromium.launch({
      executablePath: Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium",
      // --no-sandbox: CI runs as root; --enable-unsafe-webgpu: Chromium's WebGPU on Linux (SwiftShader here).
      args: ["--no-sandbox", "--enable-unsafe-webgpu", "--use-angle=swiftshader"],
    });
    return { server, browser, context: await browser.newContext(options) };
  } catch (e) {
    console.log(
      `FAIL set-up (build, serve, launch Chromium): ${e instanceof Error ? e.stack ?? e.message : e}`,
    );
    console.log(`${group}: 0 passed, 1 failed`);
    Deno.exit(1);
  }
}

/** Collects `page`'s console errors and page errors into `errors`. */
export function collectErrors(page: Page, errors: string[]): void {
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
}

/** Opens `url`, collecting console and page errors into `errors`; resolves once the model is ready. */
export async function openPage(
  context: BrowserContext,
  url: string,
  errors: string[],
): Promise<{ page: Page; loadMs: number }> {
  const page = await context.newPage();
  collectErrors(page, errors);
  const t0 = performance.now();
  await page.goto(url);
  await page.evaluate(() => (globalThis as unknown as { demo: { ready: Promise<unknown> } }).demo.ready);
  return { page, loadMs: performance.now() - t0 };
}

/** Runs named checks; a failure is printed and counted, and the next check still runs. */
export class Checks {
  passed = 0;
  failed = 0;

  /** Runs `fn` as the check `name`, printing ok (with its seconds) or FAIL with the error. */
  async check(name: string, fn: () => Promise<void> | void): Promise<void> {
    const t0 = performance.now();
    try {
      await fn();
      this.passed++;
      console.log(`ok   ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (e) {
      this.failed++;
      console.log(`FAIL ${name}: ${e instanceof Error ? e.stack ?? e.message : e}`);
    }
  }
}

/// <reference lib="dom" />
/**
 * The training page's throughput and time to lock on, in Chromium: builds and serves the demo (`deno task
 * web`, MNIST from `MNIST_DIR`), opens `train.html` with the given settings (a fresh run each time) and
 * prints one JSON line per run: `samplesPerSecond`, the batch over the median step time of the steps after
 * `--warmup` (training steps only, loss read back: what `deno task bench:train` times, whose defaults —
 * batch 100, 2 warm-up steps, 10 timed — these follow), the page's own figure (`pageSamplesPerSecond`: the
 * last 20 steps' samples over their seconds), and, with `--lock`, the seconds and steps until the first
 * validation point (500 sequences) with a per-digit error below `--lock-error`.
 *
 * ```sh
 * MNIST_DIR=../shared/mnist npx -y deno@2.9.6 run -A bench/train_page.ts --batch 100 --steps 22 --workers 1,2
 * MNIST_DIR=../shared/mnist npx -y deno@2.9.6 run -A bench/train_page.ts --batch 50 --lock --every 100 \
 *   --screenshot docs/train_page.png
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { serve } from "../tests/web/_demo_harness.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "rnn-spn" },
    ds: { type: "string", default: "3" },
    batch: { type: "string", default: "100" },
    steps: { type: "string", default: "12" },
    warmup: { type: "string", default: "2" },
    workers: { type: "string" },
    backend: { type: "string" },
    lock: { type: "boolean", default: false },
    "lock-error": { type: "string", default: "0.3" },
    "max-minutes": { type: "string", default: "30" },
    every: { type: "string", default: "100" },
    screenshot: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(`deno run -A bench/train_page.ts [--model rnn-spn|spn] [--ds N] [--batch N] [--steps N]
    [--warmup N] [--workers LIST] [--backend wasm|webgpu|cpu] [--lock [--lock-error 0.3] [--every N] [--max-minutes M]] [--screenshot FILE]`);
  Deno.exit(0);
}

const server = await serve(new URL("../", import.meta.url));
const browser = await chromium.launch({
  executablePath: Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium",
  // --enable-unsafe-webgpu: Chromium's WebGPU on Linux (where `--backend webgpu` is asked for).
  args: ["--no-sandbox", "--enable-unsafe-webgpu"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
  const workerList = args.workers?.split(",").map(Number) ?? [undefined];
  for (const workers of workerList) {
    const query = new URLSearchParams({
      model: args.model!,
      ds: args.ds!,
      batch: args.batch!,
      every: args.lock ? args.every! : "100000",
      checkpoint: "100000",
      autostart: "1",
      fresh: "1",
      ...(args.lock ? {} : { steps: args.steps! }),
      ...(workers ? { workers: String(workers) } : {}),
      ...(args.backend ? { backend: args.backend } : {}),
    });
    const page = await context.newPage();
    page.on("pageerror", (e) => console.error(`pageerror: ${e.message}`));
    await page.goto(`${server.url}train.html?${query}`);
    await page.waitForFunction(() => document.body.dataset.state === "training", undefined, {
      timeout: 120_000,
    });
    const t0 = performance.now();
    let lock: { seconds: number; step: number; digitError: number } | null = null;
    if (args.lock) {
      const bound = Number(args["lock-error"]);
      const evals = () =>
        page.evaluate(() =>
          (globalThis as unknown as { trainPage: { evals(): { step: number; digitError: number }[] } })
            .trainPage.evals()
        );
      const deadline = t0 + Number(args["max-minutes"]) * 60_000;
      while (!lock && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 2000));
        const hit = (await evals()).find((e) => e.digitError < bound);
        if (hit) {
          lock = { seconds: (performance.now() - t0) / 1000, step: hit.step, digitError: hit.digitError };
        }
      }
      await page.click("#pause");
    }
    await page.waitForFunction(
      () => ["done", "paused"].includes(document.body.dataset.state ?? "") || document.body.dataset.error,
      undefined,
      { timeout: 600_000 },
    );
    const d = await page.evaluate(() => ({ ...document.body.dataset }));
    const seconds = (await page.evaluate(() =>
      (globalThis as unknown as { trainPage: { stepSeconds(): number[] } }).trainPage.stepSeconds()
    )).slice(Number(args.warmup)).sort((a, b) =>
      a - b
    );
    const median = seconds[seconds.length >> 1];
    if (args.screenshot) await page.screenshot({ path: args.screenshot, fullPage: true });
    const detail = await page.locator("#status").getAttribute("title");
    console.log(JSON.stringify({
      model: args.model,
      ds: Number(args.ds),
      batch: Number(args.batch),
      workers: workers ?? "default (one per core)",
      backend: d.backend,
      detail,
      steps: Number(d.step),
      samplesPerSecond: Number((Number(args.batch) / median).toFixed(1)),
      stepMsMedian: Number((median * 1000).toFixed(1)),
      timedSteps: seconds.length,
      pageSamplesPerSecond: Number(d.samplesPerSecond),
      load: (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3).join(" "),
      error: d.error,
      ...(args.lock ? { lock, lockBound: Number(args["lock-error"]) } : {}),
    }));
    await page.close();
  }
} catch (error) {
  console.error(`train_page: ${error instanceof Error ? error.stack ?? error.message : error}`);
  Deno.exitCode = 1;
} finally {
  await browser.close();
  await server.stop().catch((e) => console.error(`train_page: stopping the server: ${e.message}`));
}

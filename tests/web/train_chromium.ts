/// <reference lib="dom" />
/**
 * The training page in a real browser: `deno task web` builds and serves it (MNIST from `MNIST_DIR` under
 * `/mnist/`), Debian's Chromium (playwright-core) loads `train.html`, and the test checks
 *
 * (a) 40+ steps of the RNN-SPN (DS 3, a small batch) started from the URL alone (`autostart=1`): step 1's
 *     loss equals this library's in Deno on the same seeded weights and batch, and the loss falls — steps
 *     31–40 (each taken on its batch before that step's update) below what the untrained model scores on
 *     the same ten batches: a paired comparison, since 40 steps are deep in the plateau (the validation
 *     loss has not moved yet; printed) and batches differ in difficulty by more than training has gained;
 *     `document.body.dataset` mirrors the state;
 * (b) Train, Pause (a checkpoint in IndexedDB), reload, Train: the run continues at the paused step, and
 *     every loss — before and after the reload — equals the uninterrupted page's, bit for bit;
 * (c) Export: the three downloaded files load with the library's `loadModel` in Deno, and the viewing page's
 *     "use the model trained here" switch shows that model;
 * (d) no console error or page error; a screenshot `.ci/out/train.png`;
 * and prints the page's samples/s.
 *
 * Run (by `.ci/run`; not part of `deno task test`): prints "train page (Chromium): N passed, M failed", exit 1
 * on a failure.
 *   MNIST_DIR=../shared/mnist npx -y deno@2.9.6 run -A tests/web/train_chromium.ts
 *
 * Env: CHROMIUM (default /usr/bin/chromium), TRAIN_BATCH (default 16), TRAIN_STEPS (default 44).
 *
 * @module
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Download, Page } from "playwright-core";
import * as tf from "@tensorflow/tfjs";
import { ClutteredMnist, createModel, loadMnist, loadModel, selectBackend, sequenceLoss } from "../../mod.ts";
import { Checks, collectErrors, setUp } from "./_demo_harness.ts";

const ROOT = new URL("../../", import.meta.url);
const OUT = new URL(".ci/out/", ROOT);
const BATCH = Number(Deno.env.get("TRAIN_BATCH") ?? 16);
const STEPS = Number(Deno.env.get("TRAIN_STEPS") ?? 44);
const PAUSE_AFTER = 20; // Pause is pressed once at least this many steps are done
// Validation points at steps 0 and 40 (500 fixed validation sequences: far less noisy than one batch's
// loss), and no periodic checkpoint: the one written by Pause is what the reload resumes from.
const LR = Deno.env.get("TRAIN_LR") ?? "5e-4";
const QUERY =
  `model=rnn-spn&ds=3&batch=${BATCH}&lr=${LR}&steps=${STEPS}&every=40&checkpoint=1000&backend=wasm${
    Deno.env.get("TRAIN_QUERY") ?? ""
  }`;

const { server, browser, context } = await setUp(ROOT, "train page (Chromium)", {
  viewport: { width: 1100, height: 900 },
  acceptDownloads: true,
});
const errors: string[] = [];
const checks = new Checks();

async function open(url: string): Promise<Page> {
  const page = await context.newPage();
  collectErrors(page, errors);
  await page.goto(url);
  return page;
}

/** Waits until the page's state is one of `states` (failing at once on the page's own error). */
async function waitState(page: Page, ...states: string[]): Promise<void> {
  await page.waitForFunction(
    (s) => {
      const d = document.body.dataset;
      if (d.error) throw new Error(`the page failed: ${d.error}`);
      return s.includes(d.state ?? "");
    },
    states,
    { timeout: 240_000 },
  );
}

const dataset = (page: Page) => page.evaluate(() => ({ ...document.body.dataset }));
const losses = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { trainPage: { losses(): number[] } }).trainPage.losses());
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The untrained RNN-SPN's loss (training mode, as the page's steps) on the page's batches `steps` (0-based). */
async function untrainedLosses(steps: number[]): Promise<number[]> {
  await selectBackend("wasm");
  const data = new ClutteredMnist(await loadMnist({ dir: Deno.env.get("MNIST_DIR") ?? "../shared/mnist" }));
  const model = createModel("rnn-spn", { downsampleFactor: 3 });
  const order = data.order("train", { epoch: 0 }); // steps < one epoch: the page's first epoch's order
  const out: number[] = [];
  for (const k of steps) {
    const { images, labels } = data.batch("train", order.subarray(k * BATCH, (k + 1) * BATCH));
    const loss = tf.tidy(() => sequenceLoss(model.forward(images, true).logits, labels));
    out.push((await loss.data())[0]);
    tf.dispose([images, labels, loss]);
  }
  model.dispose();
  return out;
}

let uninterrupted: number[] = [];
let resumedPage: Page | null = null;
try {
  await mkdir(OUT, { recursive: true });
  await checks.check(
    `(a) ${STEPS} steps from the URL alone (autostart, batch ${BATCH}): the loss falls`,
    async () => {
      const t0 = performance.now();
      const page = await open(`${server.url}train.html?${QUERY}&autostart=1&fresh=1`);
      await waitState(page, "done");
      const seconds = (performance.now() - t0) / 1000;
      const d = await dataset(page);
      uninterrupted = await losses(page);
      assert.equal(uninterrupted.length, STEPS);
      assert.equal(d.step, String(STEPS));
      assert.equal(d.backend, "wasm");
      assert.equal(d.error, "");
      assert.equal(Number(d.firstLoss), uninterrupted[0]);
      assert(Math.abs(Number(d.loss) - mean(uninterrupted.slice(-10))) < 1e-12, `dataset.loss ${d.loss}`);
      assert(uninterrupted.every(Number.isFinite), "a loss is not finite");
      const late = mean(uninterrupted.slice(30, 40));
      const evals = await page.evaluate(() =>
        (globalThis as unknown as { trainPage: { evals(): { step: number; loss: number }[] } }).trainPage
          .evals()
      );
      assert.deepEqual(evals.map((e) => e.step), [0, 40]);
      console.log(
        `(a) training loss: step 1 ${uninterrupted[0].toFixed(4)}, mean of steps 31–40 ${late.toFixed(4)}; ` +
          `validation loss (500 sequences): step 0 ${evals[0].loss.toFixed(5)}, step 40 ${
            evals[1].loss.toFixed(5)
          }; ${d.samplesPerSecond} samples/s (batch ${BATCH}, last 20 steps); page open to step ${STEPS}: ` +
          `${seconds.toFixed(1)} s`,
      );
      // The untrained model (the same seeded weights the page starts from) on batches 1 and 31–40.
      const untrained = await untrainedLosses([0, ...Array.from({ length: 10 }, (_, i) => 30 + i)]);
      const before = mean(untrained.slice(1));
      console.log(`(a) the untrained model on the batches of steps 31–40: ${before.toFixed(4)}`);
      assert(
        Math.abs(untrained[0] - uninterrupted[0]) < 1e-5,
        `step 1: page ${uninterrupted[0]}, Deno ${untrained[0]}`,
      );
      assert(late < before, `the loss did not fall: steps 31–40 ${late} trained, ${before} untrained`);
      await page.screenshot({ path: new URL("train.png", OUT).pathname, fullPage: true });
      await page.close();
    },
  );

  await checks.check(
    "(b) Pause, reload, Train: continues at the paused step with the same losses",
    async () => {
      const page = await open(`${server.url}train.html?${QUERY}`);
      await waitState(page, "idle");
      await page.click("#over"); // start over: no checkpoint of (a) or an earlier run
      await page.waitForFunction(() =>
        document.body.dataset.checkpoint === "" && document.body.dataset.state === "idle"
      );
      await page.click("#train");
      await page.waitForFunction((n) => Number(document.body.dataset.step) >= n, PAUSE_AFTER);
      await page.click("#pause");
      await waitState(page, "paused");
      const paused = await dataset(page);
      assert.equal(paused.checkpoint, paused.step, "Pause wrote no checkpoint of the paused step");
      const before = await losses(page);
      await page.reload();
      await waitState(page, "idle");
      const reloaded = await dataset(page);
      assert.equal(reloaded.checkpoint, paused.step, "after the reload: no checkpoint of the paused step");
      await page.click("#train");
      await page.waitForFunction(() =>
        (document.getElementById("run")?.textContent ?? "").includes("resumed")
      );
      const run = await page.locator("#run").textContent();
      assert(run!.includes(`resumed at step ${paused.step}`), `run line: ${run}`);
      await waitState(page, "done");
      const after = await losses(page);
      assert.deepEqual(
        after.slice(0, before.length),
        before,
        "the reloaded page lost steps before the pause",
      );
      const differ = after.findIndex((v, i) => v !== uninterrupted[i]);
      assert.equal(after.length, STEPS);
      assert.equal(
        differ,
        -1,
        `step ${differ + 1}: loss ${after[differ]} after pause+reload, ${
          uninterrupted[differ]
        } uninterrupted`,
      );
      console.log(
        `(b) paused at step ${paused.step}, reloaded, resumed: steps ${
          Number(paused.step) + 1
        }–${STEPS} equal ` +
          `the uninterrupted page's bit for bit (step ${Number(paused.step) + 1}: ${
            after[Number(paused.step)]
          })`,
      );
      resumedPage = page;
    },
  );

  await checks.check(
    "(c) Export → loadModel in Deno; the viewing page's switch shows that model",
    async () => {
      const page = resumedPage ?? (() => {
        throw new Error("no trained page: (b) failed");
      })();
      const dir = await mkdtemp(join(tmpdir(), "rnnspn-export-"));
      try {
        const names: string[] = [];
        const saved: Promise<void>[] = [];
        const onDownload = (d: Download) => {
          names.push(d.suggestedFilename());
          saved.push(d.saveAs(join(dir, d.suggestedFilename())));
        };
        page.on("download", onDownload);
        await page.click("#export");
        const deadline = Date.now() + 60_000;
        while (names.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        await Promise.all(saved);
        page.off("download", onDownload);
        assert.deepEqual(names.sort(), ["manifest.json", "model.json", "weights.bin"]);
        await selectBackend("wasm");
        // verifies the manifest, the weights record and the topology
        const model = await loadModel(dir, { accept: "rnnspn" });
        assert.equal(model.kind, "rnn-spn");
        assert.equal((model.config as { downsampleFactor: number }).downsampleFactor, 3);
        model.dispose();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const view = await open(`${server.url}index.html?backend=wasm&trained=1`);
      await view.evaluate(() => (globalThis as unknown as { demo: { ready: Promise<unknown> } }).demo.ready);
      const status = await view.locator("#status").textContent();
      assert(status!.includes(`trained in this browser (step ${STEPS})`), `viewing page status: ${status}`);
      assert(await view.locator("#trained").isChecked(), "the switch is not shown as on");
      console.log(`(c) exported files load with loadModel; viewing page: ${status}`);
      await view.close();
    },
  );

  await checks.check("(d) no console error", () => {
    assert.deepEqual(errors, [], `console errors:\n${errors.join("\n")}`);
  });
} finally {
  await browser.close();
  await server.stop();
}
console.log(`train page (Chromium): ${checks.passed} passed, ${checks.failed} failed`);
Deno.exit(checks.failed === 0 ? 0 : 1);

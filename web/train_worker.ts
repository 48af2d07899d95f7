/**
 * The training page's Worker: loads full MNIST from the page's origin (`/mnist/`, with progress), trains an
 * RNN-SPN or CNN-SPN step by step with the paper's clipped RMSprop — over `DataParallelStep` helpers when more
 * than one instance is asked for, as `deno task train` does — and reports every step's loss, validation
 * points with the attention on fixed validation sequences, and checkpoints into IndexedDB (`store.ts`) from
 * which a reloaded page resumes exactly: the data order is a pure function of (seed, epoch), and weights and
 * optimizer state are stored bit for bit.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type AnyModel,
  type BackendName,
  ClutteredMnist,
  createModel,
  DataParallelStep,
  describeBackend,
  evaluate,
  loadMnist,
  MNIST_FILES,
  selectBackend,
} from "../mod.ts";
import { createOptimizer, loadOptimizerState, saveOptimizerState } from "../src/train/optimizer.ts";
import { trainStep } from "../src/train/step.ts";
import { modelFiles } from "../src/models/io.ts";
import { attend } from "./attention.ts";
import {
  deleteStored,
  loadStored,
  modelFromFiles,
  type RunConfig,
  saveStored,
  type StoredCheckpoint,
} from "./store.ts";
import type { EvalPoint, StartOptions, TrainReply, TrainRequest, ViewSample } from "./train_protocol.ts";

/** Validation sequences scored at each validation point (the first ones of the split). */
const VALID_EVAL = 500;
/** Validation sequences whose boxes and glimpses the page shows. */
const VIEW = 4;
/** Steps in the samples/s window. */
const WINDOW = 20;

const scope = globalThis as unknown as {
  postMessage(message: TrainReply, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<TrainRequest>) => void): void;
  location: { href: string };
  crossOriginIsolated?: boolean;
};
const post = (reply: TrainReply) => scope.postMessage(reply);
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

let data: ClutteredMnist | null = null;
let backend: BackendName = "wasm";

interface Run {
  config: RunConfig;
  model: AnyModel;
  optimizer: tf.Optimizer;
  parallel: DataParallelStep | null;
  step: number;
  losses: number[];
  evals: EvalPoint[];
}
let run: Run | null = null;
let training = false;
let pauseRequested = false;
let exportRequested = false;

/** The four MNIST files from `/mnist/` beside the page, with progress; null when the server has none. */
async function fetchMnist(): Promise<Record<string, Uint8Array> | null> {
  const base = new URL("../mnist/", new URL("./", scope.location.href));
  const total = MNIST_FILES.reduce((n, f) => n + f.bytes, 0);
  let loaded = 0;
  const files: Record<string, Uint8Array> = {};
  for (const f of MNIST_FILES) {
    const url = new URL(f.name, base);
    const response = await fetch(url);
    if (response.status === 404) return null;
    if (!response.ok || !response.body) throw new Error(`fetch ${url.pathname}: HTTP ${response.status}`);
    const out = new Uint8Array(f.bytes);
    let at = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (at + value.length > out.length) {
        throw new Error(`${url.pathname}: more than the official ${f.bytes} bytes; not the MNIST file`);
      }
      out.set(value, at);
      at += value.length;
      loaded += value.length;
      post({ type: "progress", loaded, total });
    }
    files[f.name] = out.subarray(0, at);
  }
  return files;
}

async function init(preference: string | null, wasmThreads: boolean, fma: boolean): Promise<void> {
  // The tfjs .wasm files are copied beside this bundle by the build.
  const wasmPaths = new URL("./", scope.location.href).href;
  if (!wasmThreads) tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  backend = await selectBackend((preference ?? "auto") as BackendName | "auto", { wasmPaths, fma });
  const info = await describeBackend();
  const files = await fetchMnist();
  const stored = await loadStored().catch(() => null);
  const checkpoint = stored && { config: stored.config, step: stored.step, savedAt: stored.savedAt };
  const { name: _, ...detail } = info as unknown as Record<string, unknown>;
  const ready: TrainReply = {
    type: "ready",
    backend,
    detail: JSON.stringify(detail),
    cores: navigator.hardwareConcurrency || 1,
    isolated: scope.crossOriginIsolated === true,
    checkpoint,
  };
  if (files === null) {
    post(ready);
    post({
      type: "mnist-missing",
      message: "MNIST is not on this server: /mnist/ has none of the four .gz files. Start the server with " +
        "MNIST_DIR=/path/to/mnist (the folder holding train-images-idx3-ubyte.gz and the other three) " +
        "deno task web.",
    });
    return;
  }
  // Sizes and MD5s are checked against the official files before anything is decoded.
  data = new ClutteredMnist(await loadMnist({ files }));
  post(ready);
}

const sameConfig = (a: RunConfig, b: RunConfig) => JSON.stringify(a) === JSON.stringify(b);

async function openRun(o: StartOptions): Promise<{ run: Run; resumed: boolean }> {
  const workers = backend === "wasm" ? o.workers : 1;
  const config: RunConfig = {
    model: o.model,
    ds: o.ds,
    batch: o.batch,
    learningRate: o.learningRate,
    workers,
    backend,
  };
  if (o.fresh) await deleteStored();
  const stored = o.fresh ? null : await loadStored();
  let r: Run;
  if (stored && sameConfig(stored.config, config)) {
    const model = await modelFromFiles(stored.files);
    const optimizer = createOptimizer("rmsprop", config.learningRate);
    await loadOptimizerState(optimizer, {
      specs: stored.optimizer.specs as tf.io.WeightsManifestEntry[],
      data: stored.optimizer.data,
    });
    r = {
      config,
      model,
      optimizer,
      parallel: null,
      step: stored.step,
      losses: stored.losses,
      evals: stored.evals,
    };
  } else {
    // Fresh weights are seeded (the models' default seed 0): every fresh run starts from the same point.
    const model = createModel(o.model, { downsampleFactor: o.ds });
    r = {
      config,
      model,
      optimizer: createOptimizer("rmsprop", o.learningRate),
      parallel: null,
      step: 0,
      losses: [],
      evals: [],
    };
  }
  if (workers > 1) r.parallel = await DataParallelStep.create(r.model, { workers, backend });
  return { run: r, resumed: r.step > 0 };
}

function closeRun(): void {
  if (!run) return;
  run.parallel?.dispose();
  run.optimizer.dispose();
  run.model.dispose();
  run = null;
}

async function files(r: Run): Promise<Record<string, Uint8Array | string>> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await r.model.save({
    save: (a) => {
      artifacts = a;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
    },
  });
  return await modelFiles(artifacts!);
}

async function checkpoint(r: Run): Promise<void> {
  const opt = await saveOptimizerState(r.optimizer);
  const record: StoredCheckpoint = {
    config: r.config,
    step: r.step,
    files: await files(r),
    optimizer: { specs: opt.specs, data: opt.data },
    losses: r.losses,
    evals: r.evals,
    savedAt: new Date().toISOString(),
  };
  await saveStored(record);
  post({ type: "checkpoint", step: r.step });
}

async function validate(r: Run): Promise<void> {
  const m = await evaluate(r.model, data!, "valid", { batchSize: 100, limit: VALID_EVAL });
  const point: EvalPoint = {
    step: r.step,
    loss: m.loss,
    digitError: m.digitError,
    sequenceError: m.sequenceError,
  };
  r.evals.push(point);
  const view: ViewSample[] = [];
  for (let i = 0; i < VIEW; i++) {
    const { image, labels } = data!.sample("valid", i);
    view.push({ ...(await attend(r.model, image)), image, labels: Array.from(labels) });
  }
  post({ type: "eval", point, view, inputSize: [...r.model.inputSize] as [number, number] });
}

/** Batch `step` (0-based) of the run: epoch `step div n`, batch `step mod n` of that epoch's order. */
const orders = new Map<number, Uint32Array>();
function batchAt(step: number, size: number): { images: tf.Tensor4D; labels: tf.Tensor2D } {
  const n = data!.numBatches("train", size, { dropRemainder: true });
  const epoch = Math.floor(step / n), b = step % n;
  if (!orders.has(epoch)) {
    orders.clear();
    orders.set(epoch, data!.order("train", { epoch }));
  }
  const { images, labels } = data!.batch("train", orders.get(epoch)!.subarray(b * size, (b + 1) * size));
  return { images, labels };
}

async function exportModel(r: Run): Promise<void> {
  exportRequested = false;
  post({ type: "model", files: await files(r), step: r.step, kind: r.model.kind });
}

async function start(o: StartOptions): Promise<void> {
  if (training) throw new Error("start: already training");
  if (!data) throw new Error("start: MNIST is not loaded");
  training = true;
  pauseRequested = false;
  try {
    closeRun();
    const opened = await openRun(o);
    run = opened.run;
    const r = run;
    post({
      type: "started",
      config: r.config,
      step: r.step,
      losses: r.losses,
      evals: r.evals,
      resumed: opened.resumed,
    });
    if (r.evals.length === 0 || r.evals.at(-1)!.step !== r.step) await validate(r);
    const times: number[] = [], sizes: number[] = [];
    let saved = r.step;
    while (!pauseRequested && (o.steps === null || r.step < o.steps)) {
      const { images, labels } = batchAt(r.step, r.config.batch);
      const t0 = performance.now();
      const lossT = r.parallel
        ? await r.parallel.step(r.optimizer, images, labels)
        : trainStep(r.model, r.optimizer, images, labels);
      const loss = (await lossT.data())[0];
      const seconds = (performance.now() - t0) / 1000;
      tf.dispose([images, labels, lossT]);
      r.step++;
      r.losses.push(loss);
      times.push(seconds);
      sizes.push(r.config.batch);
      if (times.length > WINDOW) [times.shift(), sizes.shift()];
      const samplesPerSecond = sizes.reduce((a, b) => a + b, 0) / times.reduce((a, b) => a + b, 0);
      post({ type: "step", step: r.step, loss, seconds, samplesPerSecond });
      if (r.step % o.evalEvery === 0) await validate(r);
      if (r.step % o.checkpointEvery === 0) [await checkpoint(r), saved = r.step];
      if (exportRequested) await exportModel(r);
      // Let "pause" and "export" in between two steps.
      await tick();
    }
    if (saved !== r.step) await checkpoint(r);
    post({ type: "stopped", step: r.step, reason: pauseRequested ? "paused" : "done" });
  } finally {
    training = false;
  }
}

async function handle(m: TrainRequest): Promise<void> {
  switch (m.type) {
    case "init":
      return await init(m.backend, m.wasmThreads, m.fma);
    case "start":
      return await start(m.options);
    case "pause":
      pauseRequested = true;
      return;
    case "export":
      if (training) exportRequested = true;
      else if (run) await exportModel(run);
      else {
        const stored = await loadStored();
        if (!stored) throw new Error("export: nothing trained yet");
        post({ type: "model", files: stored.files, step: stored.step, kind: stored.config.model });
      }
      return;
    case "forget":
      if (training) throw new Error("start over: pause first");
      closeRun();
      await deleteStored();
      post({ type: "forgotten" });
      return;
  }
}

scope.addEventListener("message", async (event) => {
  try {
    await handle(event.data);
  } catch (error) {
    post({ type: "error", message: error instanceof Error ? error.message : String(error) });
  }
});

/**
 * The demo's prediction Worker: loads the model and the MNIST subset, renders sequences with
 * `ClutteredMnist`, and predicts off the page's main thread.
 *
 * @module
 */
import {
  type BackendName,
  type ClutteredMnist,
  describeBackend,
  type Mnist,
  RecurrentAttention,
  selectBackend,
} from "../mod.ts";
import { readResponseBytes } from "../src/data/files.ts";
import { addClutter, demoDataset, parseSubset } from "./subset.ts";
import type { Reply, Request, Result } from "./protocol.ts";
import { attend } from "./attention.ts";
import { loadStored, modelFromFiles } from "./store.ts";

interface State {
  model: RecurrentAttention;
  mnist: Mnist;
  data: ClutteredMnist;
}
let state: State | null = null;
const t0 = performance.now();
// A dedicated Worker's global scope; typed by hand, since this file is checked with Deno's window types.
const scope = globalThis as unknown as {
  postMessage(message: Reply): void;
  addEventListener(type: "message", listener: (event: MessageEvent<Request>) => void): void;
  location: { href: string };
};
const post = (reply: Reply) => scope.postMessage(reply);

/** The most bytes the MNIST subset may have (it has 64 kB): a broken server cannot fill the tab's memory. */
const MAX_SUBSET_BYTES = 16 * 2 ** 20;

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetch ${url}: HTTP ${response.status}`);
  return readResponseBytes(response, url, "fetch", MAX_SUBSET_BYTES);
}

let trainedStep = 0;

/** The RNN-SPN of the training page's checkpoint in this browser's IndexedDB (see `store.ts`). */
async function trainedModel(): Promise<RecurrentAttention> {
  const stored = await loadStored();
  if (!stored) throw new Error("no model trained in this browser yet: train one on train.html first");
  const model = await modelFromFiles(stored.files);
  if (!(model instanceof RecurrentAttention)) {
    model.dispose();
    throw new Error(
      `the model trained in this browser is a ${stored.config.model}; this page shows an RNN-SPN`,
    );
  }
  trainedStep = stored.step;
  return model;
}

async function init(r: Extract<Request, { type: "init" }>): Promise<void> {
  // The tfjs .wasm files are copied beside this bundle by the build.
  const wasmPaths = new URL("./", scope.location.href).href;
  const backend = await selectBackend((r.backend ?? "auto") as BackendName | "auto", { wasmPaths });
  const [model, mnist] = await Promise.all([
    // Checked on load: manifest (length + SHA-256 of each file), weights record, topology.
    r.trained ? trainedModel() : RecurrentAttention.load(new URL(r.model, scope.location.href)),
    fetchBytes(r.subset).then((gz) => parseSubset(gz, r.sha256)),
  ]);
  state = { model, mnist, data: demoDataset(mnist) };
  // Warm-up: the first call compiles shaders / kernels; the page reports steady-state times.
  const [h, w] = model.inputSize;
  await predict(new Float32Array(h * w), null, null, -1);
  const info = await describeBackend();
  const { name: _, ...detail } = info as unknown as Record<string, unknown>;
  post({
    type: "ready",
    backend,
    detail: JSON.stringify(detail),
    loadMs: performance.now() - t0,
    source: r.trained ? `trained in this browser (step ${trainedStep})` : "shipped model",
    params: model.countParams(),
    steps: model.steps,
    inputSize: [h, w],
    glimpseSize: [
      Math.floor(h / model.config.downsampleFactor),
      Math.floor(w / model.config.downsampleFactor),
    ],
  });
}

async function predict(
  pixels: Float32Array,
  labels: number[] | null,
  index: number | null,
  id: number,
): Promise<Result> {
  const a = await attend(state!.model, pixels);
  return {
    type: "result",
    id,
    image: pixels,
    labels,
    index,
    digits: a.digits,
    probabilities: a.probabilities,
    theta: a.theta,
    quads: a.quads,
    glimpses: a.glimpses,
    ms: a.ms,
  };
}

async function handle(r: Request): Promise<void> {
  if (r.type === "init") return await init(r);
  if (!state) throw new Error(`${r.type} before the model was loaded`);
  let result: Result;
  if (r.type === "sequence") {
    const { image, labels } = state.data.sample("test", r.index);
    result = await predict(image, Array.from(labels), r.index, r.id);
  } else {
    const [h, w] = state.model.inputSize;
    if (!(r.pixels instanceof Float32Array) || r.pixels.length !== h * w) {
      throw new Error(`predict: pixels must be a Float32Array of ${h}×${w}; got ${r.pixels?.length}`);
    }
    const image = r.clutterSeed === null ? r.pixels : addClutter(r.pixels, w, state.mnist, r.clutterSeed);
    result = await predict(image, null, null, r.id);
  }
  post(result);
}

scope.addEventListener("message", async (event) => {
  const id = "id" in event.data ? event.data.id : null;
  try {
    await handle(event.data);
  } catch (error) {
    post({ type: "error", id, message: error instanceof Error ? error.message : String(error) });
  }
});

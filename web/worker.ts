/**
 * The demo's prediction Worker: loads the model and the MNIST subset, renders sequences with
 * `ClutteredMnist`, and predicts off the page's main thread.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  affineGrid,
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

interface State {
  model: RecurrentAttention;
  mnist: Mnist;
  data: ClutteredMnist;
  glimpses: tf.layers.Layer;
  alignCorners: boolean;
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

async function init(r: Extract<Request, { type: "init" }>): Promise<void> {
  // The tfjs .wasm files are copied beside this bundle by the build.
  const wasmPaths = new URL("./", scope.location.href).href;
  const backend = await selectBackend((r.backend ?? "auto") as BackendName | "auto", { wasmPaths });
  const [model, mnist] = await Promise.all([
    // Checked on load: manifest (length + SHA-256 of each file), weights record, topology.
    RecurrentAttention.load(new URL(r.model, scope.location.href)),
    fetchBytes(r.subset).then((gz) => parseSubset(gz, r.sha256)),
  ]);
  const glimpses = model.model.getLayer("glimpses");
  const alignCorners = (glimpses.getConfig().alignCorners as boolean | undefined) ?? true;
  state = { model, mnist, data: demoDataset(mnist), glimpses, alignCorners };
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
  const { model, glimpses: layer, alignCorners } = state!;
  const [h, w] = model.inputSize, steps = model.steps;
  const images = tf.tensor4d(pixels, [1, h, w, 1]);
  const start = performance.now();
  const p = model.predict(images);
  // data(), not dataSync(): WebGPU can only read back asynchronously.
  const [digits, probabilities, theta] = await Promise.all([
    p.digits.data(),
    p.probabilities.data(),
    p.theta!.data(),
  ]);
  const ms = performance.now() - start;
  // What the classifier saw: the model's own Glimpses layer on the predicted θ; and its region's corners.
  const [glimpses, grid] = tf.tidy(() => {
    const rows = tf.reshape(p.theta!, [steps, 6]) as tf.Tensor2D;
    const g = layer.apply([images, tf.reshape(rows, [1, steps, 6])]) as tf.Tensor4D;
    return [g, affineGrid(rows, [g.shape[1], g.shape[2]], alignCorners)];
  });
  const [, gh, gw] = glimpses.shape;
  const [g, glimpseData] = await Promise.all([grid.data(), glimpses.data()]);
  const toPixel = (x: number, n: number) => alignCorners ? (x + 1) / 2 * (n - 1) : ((x + 1) * n - 1) / 2;
  const corner = (s: number, r: number, c: number): [number, number] => {
    const o = ((s * gh + r) * gw + c) * 2;
    return [toPixel(g[o], w), toPixel(g[o + 1], h)];
  };
  const quads = Array.from(
    { length: steps },
    (_, s) => [corner(s, 0, 0), corner(s, 0, gw - 1), corner(s, gh - 1, gw - 1), corner(s, gh - 1, 0)],
  );
  const result: Result = {
    type: "result",
    id,
    image: pixels,
    labels,
    index,
    digits: Array.from(digits),
    probabilities: probabilities as Float32Array,
    theta: theta as Float32Array,
    quads,
    glimpses: glimpseData as Float32Array,
    ms,
  };
  tf.dispose([images, p.logits, p.theta!, p.probabilities, p.digits, glimpses, grid]);
  return result;
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

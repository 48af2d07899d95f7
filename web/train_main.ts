/// <reference lib="dom" />
/**
 * The training page: the user picks a model and a down-sampling factor and presses Train; the Worker
 * (`train_worker.ts`) trains and reports, and this thread only draws — the loss and validation-error curves
 * (SVG), samples/s, and the attention boxes and glimpses on fixed validation sequences.
 *
 * Query parameters (all optional): `model=rnn-spn|spn`, `ds=1..4`, `batch=N`, `lr=X`, `workers=N`
 * (data-parallel instances; default one per core), `backend=wasm|webgpu|cpu` (default auto), `steps=N`
 * (stop at step N), `autostart=1` (train without a click), `fresh=1` (drop the checkpoint first),
 * `every=N` (steps between validation points), `checkpoint=N` (steps between checkpoints), `fma=1` (the
 * relaxed-SIMD FMA kernels: a few per cent faster, but a resumed run is then not bit-exact in Chromium).
 *
 * For tests, `document.body.dataset` mirrors the state: `step`, `loss` (mean of the last 10 steps),
 * `firstLoss`, `backend`, `samplesPerSecond`, `error` (empty unless something failed), `state`
 * (`loading`, `idle`, `training`, `paused`, `done`, `no-mnist`) and `checkpoint` (the stored step).
 *
 * @module
 */
import type {
  EvalPoint,
  RunConfig,
  StartOptions,
  TrainReply,
  TrainRequest,
  ViewSample,
} from "./train_protocol.ts";

const STEP_COLOURS = ["#00c8ff", "#ffc800", "#ff50ff", "#50ff78", "#ff8c3c"];
const VIEW_ZOOM = 2;
const VIEW_MARGIN = 10; // input pixels
const GLIMPSE_ZOOM = 2;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const body = document.body.dataset;
const params = new URLSearchParams(location.search);

const status = $<HTMLParagraphElement>("status");
const progress = $<HTMLProgressElement>("progress");
const modelSelect = $<HTMLSelectElement>("model");
const dsSelect = $<HTMLSelectElement>("ds");
const batchInput = $<HTMLInputElement>("batch");
const trainButton = $<HTMLButtonElement>("train");
const pauseButton = $<HTMLButtonElement>("pause");
const exportButton = $<HTMLButtonElement>("export");
const overButton = $<HTMLButtonElement>("over");
const stats = $<HTMLDivElement>("stats");
const views = $<HTMLDivElement>("views");

const worker = new Worker(new URL("./train_worker.js", import.meta.url), { type: "module" });
const send = (m: TrainRequest) => worker.postMessage(m);

let losses: number[] = [];
let evals: EvalPoint[] = [];
let samplesPerSecond = 0;
/** Seconds of each step taken in this page (resumed steps have none), for `bench/train_page.ts`. */
const stepSeconds: number[] = [];
let stored: { config: RunConfig; step: number } | null = null;

function fail(message: string): void {
  body.error = message;
  status.textContent = `error: ${message}`;
  status.classList.add("bad");
  setState(body.state === "training" ? "paused" : body.state ?? "idle");
}

function setState(state: string): void {
  body.state = state;
  trainButton.disabled = state !== "idle" && state !== "paused" && state !== "done";
  pauseButton.disabled = state !== "training";
  exportButton.disabled = state === "loading" || state === "no-mnist" || (losses.length === 0 && !stored);
  overButton.disabled = state === "training" || state === "loading";
  for (const c of [modelSelect, dsSelect, batchInput]) c.disabled = state === "training";
}

// ---- curves (SVG) ----

function chart(
  id: string,
  series: { points: [number, number][]; colour: string }[],
  yMax: number,
  label: string,
) {
  const svg = $(id) as unknown as SVGSVGElement;
  const [w, h, left, bottom] = [460, 180, 40, 20];
  const xMax = Math.max(10, ...series.flatMap((s) => s.points.map(([x]) => x)));
  const x = (v: number) => left + (v / xMax) * (w - left - 8);
  const y = (v: number) => 6 + (1 - Math.min(v, yMax) / yMax) * (h - bottom - 6);
  const parts: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const v = (yMax * k) / 4;
    parts.push(
      `<line x1="${left}" x2="${w - 8}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`,
      `<text x="${left - 4}" y="${y(v) + 4}" text-anchor="end">${
        label === "%" ? `${(v * 100).toFixed(0)}%` : v.toFixed(1)
      }</text>`,
    );
  }
  parts.push(`<text x="${w - 8}" y="${h - 4}" text-anchor="end">step ${xMax}</text>`);
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map(([a, b], i) => `${i ? "L" : "M"}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join("");
    parts.push(`<path d="${d}" stroke="${s.colour}" fill="none" stroke-width="1.5"/>`);
  }
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.innerHTML = parts.join("");
}

/** Mean of the `n` values up to each point: the raw per-step loss is noisy. */
function smoothed(values: number[], n: number): [number, number][] {
  const out: [number, number][] = [];
  let sum = 0;
  const every = Math.max(1, Math.floor(values.length / 400)); // at most ~400 points on the path
  for (let i = 0; i < values.length; i++) {
    sum += values[i] - (i >= n ? values[i - n] : 0);
    if (i % every === 0 || i === values.length - 1) out.push([i + 1, sum / Math.min(i + 1, n)]);
  }
  return out;
}

function drawCurves(): void {
  const yMax = Math.max(2.5, ...losses.slice(0, 10));
  chart(
    "loss-chart",
    [
      { points: smoothed(losses, 10), colour: "#7cc4ff" },
      { points: evals.map((e) => [e.step, e.loss]), colour: "#ffc800" },
    ],
    Math.ceil(yMax * 2) / 2,
    "",
  );
  chart(
    "error-chart",
    [
      { points: evals.map((e) => [e.step, e.digitError]), colour: "#50ff78" },
      { points: evals.map((e) => [e.step, e.sequenceError]), colour: "#ff8c3c" },
    ],
    1,
    "%",
  );
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

function showStats(): void {
  const step = losses.length;
  const last = mean(losses.slice(-10));
  const e = evals.at(-1);
  body.step = String(step);
  body.loss = step ? String(last) : "";
  body.firstLoss = step ? String(losses[0]) : "";
  body.samplesPerSecond = samplesPerSecond ? samplesPerSecond.toFixed(1) : "";
  stats.innerHTML = `<b>step ${step}</b> · loss ${step ? last.toFixed(4) : "–"} (mean of the last 10) · ` +
    `${samplesPerSecond ? samplesPerSecond.toFixed(1) : "–"} samples/s` +
    (e
      ? ` · validation (step ${e.step}): ${(e.digitError * 100).toFixed(1)} % of digits wrong, ` +
        `${(e.sequenceError * 100).toFixed(1)} % of sequences`
      : "");
}

// ---- the fixed validation sequences ----

/** `pixels` (w × h) enlarged `zoom` times on a grey border of `margin` input pixels. */
function grey(pixels: Float32Array, w: number, h: number, zoom: number, margin = 0): HTMLCanvasElement {
  const small = new OffscreenCanvas(w, h);
  const img = new ImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const v = Math.round(Math.min(1, Math.max(0, pixels[i])) * 255);
    img.data.set([v, v, v, 255], i * 4);
  }
  small.getContext("2d")!.putImageData(img, 0, 0);
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = [(w + 2 * margin) * zoom, (h + 2 * margin) * zoom];
  const ctx = canvas.getContext("2d")!;
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = "#2c2c2c";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(small, margin * zoom, margin * zoom, w * zoom, h * zoom);
  return canvas;
}

function drawViews(view: ViewSample[], [h, w]: [number, number], step: number): void {
  $("views-step").textContent = `at step ${step}`;
  views.replaceChildren(...view.map((v) => {
    const card = document.createElement("div");
    card.className = "view";
    // A border, so that regions reaching past the image (early in training they often do) stay visible.
    const canvas = grey(v.image, w, h, VIEW_ZOOM, VIEW_MARGIN);
    const ctx = canvas.getContext("2d")!;
    v.quads.forEach((quad, s) => {
      ctx.strokeStyle = STEP_COLOURS[s % STEP_COLOURS.length];
      ctx.lineWidth = 2;
      ctx.beginPath();
      quad.forEach(([x, y], k) =>
        ctx[k ? "lineTo" : "moveTo"](
          (x + 0.5 + VIEW_MARGIN) * VIEW_ZOOM,
          (y + 0.5 + VIEW_MARGIN) * VIEW_ZOOM,
        )
      );
      ctx.closePath();
      ctx.stroke();
    });
    const strip = document.createElement("div");
    strip.className = "glimpses";
    const [gh, gw] = v.glimpseSize;
    for (let s = 0; s < v.quads.length; s++) {
      const g = grey(v.glimpses.subarray(s * gh * gw, (s + 1) * gh * gw), gw, gh, GLIMPSE_ZOOM);
      g.style.borderColor = STEP_COLOURS[s % STEP_COLOURS.length];
      strip.append(g);
    }
    const right = v.digits.filter((d, k) => d === v.labels[k]).length;
    const caption = document.createElement("div");
    caption.className = right === v.labels.length ? "ok" : "wrong";
    caption.textContent = `predicted ${v.digits.join("")} · true ${v.labels.join("")}`;
    card.append(canvas, strip, caption);
    return card;
  }));
}

// ---- exports ----

function download(files: Record<string, Uint8Array | string>): void {
  // The three files of a saved model directory: put them in one folder and loadModel(folder) reads it.
  for (const [name, content] of Object.entries(files)) {
    const blob = new Blob([content as BlobPart], {
      type: name.endsWith(".json") ? "application/json" : "application/octet-stream",
    });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }
}

// ---- the Worker's reports ----

worker.onmessage = (event: MessageEvent<TrainReply>) => {
  const r = event.data;
  switch (r.type) {
    case "progress":
      progress.max = r.total;
      progress.value = r.loaded;
      status.textContent = `loading MNIST: ${(r.loaded / 2 ** 20).toFixed(1)} of ${
        (r.total / 2 ** 20).toFixed(1)
      } MiB`;
      break;
    case "ready": {
      body.backend = r.backend;
      stored = r.checkpoint;
      progress.hidden = true;
      const skipped = JSON.parse(r.detail).skipped?.webgpu;
      status.textContent = `backend: ${r.backend}${skipped ? ` (webgpu skipped: ${skipped})` : ""} · ` +
        `${r.cores} cores · ${
          r.isolated ? "cross-origin isolated" : "NOT cross-origin isolated (one core)"
        }` +
        (stored ? ` · checkpoint: step ${stored.step} of ${stored.config.model} DS ${stored.config.ds}` : "");
      status.title = r.detail;
      body.checkpoint = String(stored?.step ?? "");
      if (body.state === "loading") setState("idle");
      if (body.state === "idle" && params.get("autostart") === "1") train();
      break;
    }
    case "mnist-missing":
      setState("no-mnist");
      progress.hidden = true;
      $("missing").textContent = r.message;
      $("missing").hidden = false;
      break;
    case "started":
      losses = r.losses;
      evals = r.evals;
      $("run").textContent =
        `${r.config.model === "rnn-spn" ? "RNN-SPN" : "CNN-SPN"} DS ${r.config.ds}, batch ` +
        `${r.config.batch}, RMSprop ${r.config.learningRate}, ${r.config.workers} instance(s) on ${r.config.backend}` +
        (r.resumed ? ` — resumed at step ${r.step}` : " — fresh weights");
      showStats();
      drawCurves();
      break;
    case "step":
      losses.push(r.loss);
      if (losses.length !== r.step) fail(`step ${r.step} arrived after ${losses.length - 1} steps`);
      samplesPerSecond = r.samplesPerSecond;
      stepSeconds.push(r.seconds);
      showStats();
      if (r.step % 5 === 0 || r.step < 20) drawCurves();
      break;
    case "eval":
      evals.push(r.point);
      drawViews(r.view, r.inputSize, r.point.step);
      showStats();
      drawCurves();
      break;
    case "checkpoint":
      body.checkpoint = String(r.step);
      $("saved").textContent = `checkpoint in this browser: step ${r.step}`;
      break;
    case "stopped":
      drawCurves();
      setState(r.reason);
      break;
    case "model":
      download(r.files);
      break;
    case "forgotten":
      losses = [];
      evals = [];
      stored = null;
      body.checkpoint = "";
      $("saved").textContent = "";
      showStats();
      drawCurves();
      views.replaceChildren();
      setState("idle");
      break;
    case "error":
      fail(r.message);
      break;
  }
};
worker.onerror = (event) => fail(`worker: ${event.message}`);

function intParam(name: string, fallback: number): number {
  const v = params.get(name);
  return v === null ? fallback : Math.max(1, Math.floor(Number(v))) || fallback;
}

function train(): void {
  const options: StartOptions = {
    model: modelSelect.value as StartOptions["model"],
    ds: Number(dsSelect.value),
    batch: Math.max(1, Math.floor(Number(batchInput.value)) || 50),
    learningRate: Number(params.get("lr") ?? 5e-4),
    workers,
    steps: params.has("steps") ? intParam("steps", 1) : null,
    fresh: params.get("fresh") === "1" && !trainButton.dataset.used,
    evalEvery: intParam("every", 200),
    checkpointEvery: intParam("checkpoint", 100),
  };
  trainButton.dataset.used = "1"; // `fresh` applies to the first start only, not to resuming after Pause
  body.error = "";
  status.classList.remove("bad");
  setState("training");
  send({ type: "start", options });
}

trainButton.onclick = train;
pauseButton.onclick = () => send({ type: "pause" });
exportButton.onclick = () => send({ type: "export" });
overButton.onclick = () => send({ type: "forget" });

const model = params.get("model");
if (model === "rnn-spn" || model === "spn") modelSelect.value = model;
if (params.has("ds")) dsSelect.value = String(intParam("ds", 3));
if (params.has("batch")) batchInput.value = String(intParam("batch", 50));
body.error = "";
setState("loading");
const workers = intParam("workers", navigator.hardwareConcurrency || 1);
send({
  type: "init",
  backend: params.get("backend"),
  wasmThreads: workers === 1,
  // Off unless asked for: in Chromium a resumed page's first step with the relaxed-SIMD FMA kernels came out
  // a rounding apart from the uninterrupted page's (identical with them off, and in Deno either way).
  fma: params.get("fma") === "1",
});
// A handle for people poking at the page from the console, and for the Chromium test.
Object.assign(globalThis, {
  trainPage: { losses: () => [...losses], evals: () => [...evals], stepSeconds: () => [...stepSeconds] },
});

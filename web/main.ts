/// <reference lib="dom" />
/**
 * The demo page: shows a cluttered test sequence, or what the user draws, with each step's sampling region,
 * glimpse and prediction. The model runs in `worker.ts`; this thread only draws and handles input.
 *
 * Query parameters: `?backend=wasm|webgpu|cpu` forces a backend (default: the library's auto choice);
 * `?trained=1` shows the RNN-SPN trained on `train.html` in this browser (its IndexedDB checkpoint) instead
 * of the shipped model (the "use the model trained here" switch sets it).
 *
 * @module
 */
import type { Ready, Reply, Request, Result } from "./protocol.ts";

const STEP_COLOURS = ["#00c8ff", "#ffc800", "#ff50ff", "#50ff78", "#ff8c3c"];
const ZOOM = 4; // screen pixels per input pixel
// Input pixels of grey border around the image, so that sampling regions reaching past it stay visible.
const MARGIN = 12;
const BRUSH = 2.5; // stroke width in input pixels: about an MNIST pen stroke
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const status = $<HTMLParagraphElement>("status");
const view = $<HTMLCanvasElement>("input");
const viewCtx = view.getContext("2d")!;
const indexInput = $<HTMLInputElement>("index");
const clutterBox = $<HTMLInputElement>("clutter");
const stepsBox = $<HTMLDivElement>("steps");

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const waiting = new Map<number, { resolve(r: Result): void; reject(e: Error): void }>();
let nextId = 1;
let readyResolve!: (r: Ready) => void, readyReject!: (e: Error) => void;
const ready = new Promise<Ready>((res, rej) => [readyResolve, readyReject] = [res, rej]);
const times: number[] = [];
let info: Ready | null = null;

worker.onmessage = (event: MessageEvent<Reply>) => {
  const r = event.data;
  if (r.type === "ready") readyResolve(r);
  else if (r.type === "error") {
    const w = r.id === null ? undefined : waiting.get(r.id);
    if (w) {
      waiting.delete(r.id!);
      w.reject(new Error(r.message));
    } else readyReject(new Error(r.message));
  } else {
    waiting.get(r.id)?.resolve(r);
    waiting.delete(r.id);
  }
};
worker.onerror = (event) => readyReject(new Error(`worker: ${event.message}`));

type Ask =
  | Omit<Extract<Request, { type: "sequence" }>, "id">
  | Omit<Extract<Request, { type: "predict" }>, "id">;

function ask(request: Ask): Promise<Result> {
  const id = nextId++;
  return new Promise<Result>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    worker.postMessage({ ...request, id });
  });
}

// ---- drawing the input, the regions and the steps ----

function greyImage(pixels: Float32Array, w: number, h: number): ImageData {
  const img = new ImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const v = Math.round(Math.min(1, Math.max(0, pixels[i])) * 255);
    img.data.set([v, v, v, 255], i * 4);
  }
  return img;
}

/** `pixels` (w × h) enlarged onto `ctx`, leaving `margin` input pixels of grey around it. */
function drawScaled(
  ctx: CanvasRenderingContext2D,
  pixels: Float32Array,
  w: number,
  h: number,
  margin = 0,
): void {
  const small = new OffscreenCanvas(w, h);
  small.getContext("2d")!.putImageData(greyImage(pixels, w, h), 0, 0);
  ctx.imageSmoothingEnabled = false;
  if (margin > 0) {
    ctx.fillStyle = "#2c2c2c";
    ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  }
  const z = ctx.canvas.width / (w + 2 * margin);
  ctx.drawImage(small, margin * z, margin * z, w * z, h * z);
}

function buildSteps(steps: number, [gh, gw]: [number, number]): void {
  stepsBox.replaceChildren();
  for (let s = 0; s < steps; s++) {
    const card = document.createElement("div");
    card.className = "step";
    card.style.setProperty("--c", STEP_COLOURS[s % STEP_COLOURS.length]);
    card.innerHTML = `<h3>step ${s + 1}</h3><canvas width="${gw * ZOOM}" height="${gh * ZOOM}"></canvas>` +
      `<div class="pred"><span class="digit">–</span><span class="prob"></span></div>` +
      `<div class="bar"><div></div></div><div class="truth"></div>`;
    stepsBox.append(card);
  }
}

function show(r: Result, ink: Float32Array | null = null): void {
  const [h, w] = info!.inputSize, [gh, gw] = info!.glimpseSize;
  drawScaled(viewCtx, ink ?? r.image, w, h, MARGIN);
  r.quads.forEach((quad, s) => {
    viewCtx.strokeStyle = STEP_COLOURS[s % STEP_COLOURS.length];
    viewCtx.lineWidth = 2;
    viewCtx.beginPath();
    quad.forEach(([x, y], k) => {
      const [px, py] = [(x + 0.5 + MARGIN) * ZOOM, (y + 0.5 + MARGIN) * ZOOM];
      if (k === 0) viewCtx.moveTo(px, py);
      else viewCtx.lineTo(px, py);
    });
    viewCtx.closePath();
    viewCtx.stroke();
  });
  [...stepsBox.children].forEach((card, s) => {
    const d = r.digits[s], p = r.probabilities[s * 10 + d];
    drawScaled(card.querySelector("canvas")!.getContext("2d")!, r.glimpses.subarray(s * gh * gw), gw, gh);
    card.querySelector(".digit")!.textContent = String(d);
    card.querySelector(".prob")!.textContent = `${(p * 100).toFixed(1)} %`;
    (card.querySelector(".bar > div") as HTMLDivElement).style.width = `${(p * 100).toFixed(1)}%`;
    const truth = card.querySelector(".truth")!;
    const wrong = r.labels !== null && r.labels[s] !== d;
    truth.textContent = r.labels === null ? "" : `true ${r.labels[s]} ${wrong ? "✗" : "✓"}`;
    card.classList.toggle("wrong", wrong);
  });
  times.push(r.ms);
  if (times.length > 20) times.shift();
  const median = [...times].sort((a, b) => a - b)[times.length >> 1];
  status.textContent =
    `backend: ${info!.backend} · ${median.toFixed(1)} ms per prediction (median of the last ` +
    `${times.length}) · ${info!.source} ready in ${(info!.loadMs / 1000).toFixed(1)} s · ${
      info!.params.toLocaleString()
    } weights`;
  status.dataset.backend = info!.backend;
  status.title = info!.detail;
}

// ---- "new sequence" ----

let mode: "sequence" | "draw" = "sequence";
let last: Result | null = null;

async function sequence(index: number): Promise<Result> {
  mode = "sequence";
  document.body.dataset.mode = mode;
  indexInput.value = String(index);
  const r = await ask({ type: "sequence", index });
  if (mode === "sequence" && Number(indexInput.value) === index) show(r);
  return (last = r);
}

// ---- "draw": strokes on a 100×100 ink canvas, predictions as they change ----

let ink: OffscreenCanvas, inkCtx: OffscreenCanvasRenderingContext2D;
let clutter: Float32Array | null = null;
let inFlight: Promise<Result> | null = null, dirty = false;

function inkPixels(): Float32Array {
  const [h, w] = info!.inputSize;
  const rgba = inkCtx.getImageData(0, 0, w, h).data;
  const out = new Float32Array(w * h);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, rgba[i * 4] / 255 + (clutter ? clutter[i] : 0));
  return out;
}

/** Predicts the current drawing, at most one request at a time; changes during one trigger one more. */
function predictDrawing(): void {
  if (inFlight) {
    dirty = true;
    return;
  }
  dirty = false;
  const pixels = inkPixels();
  inFlight = ask({ type: "predict", pixels, clutterSeed: null });
  inFlight.then((r) => {
    inFlight = null;
    last = r;
    if (mode === "draw") show(r, inkPixels());
    if (dirty) predictDrawing();
  }, (e) => {
    inFlight = null;
    status.textContent = `prediction failed: ${e.message}`;
  });
}

/** The prediction of the drawing as it is now (waits for requests in flight). */
async function settled(): Promise<Result | null> {
  while (inFlight || dirty) {
    if (inFlight) await inFlight.catch(() => {});
    else predictDrawing();
  }
  return last;
}

function startDrawing(): void {
  mode = "draw";
  document.body.dataset.mode = mode;
  predictDrawing();
}

function clearDrawing(): void {
  const [h, w] = info!.inputSize;
  inkCtx.fillStyle = "#000";
  inkCtx.fillRect(0, 0, w, h);
  inkCtx.fillStyle = "#fff";
  startDrawing();
}

async function setClutter(on: boolean): Promise<void> {
  const [h, w] = info!.inputSize;
  // The Worker holds the clutter digits: it adds patches to an empty image, giving the clutter alone.
  const seed = (Math.random() * 2 ** 32) >>> 0;
  clutter = on
    ? (await ask({ type: "predict", pixels: new Float32Array(h * w), clutterSeed: seed })).image
    : null;
  if (mode === "draw") predictDrawing();
}

let pen: [number, number] | null = null;
function toInput(e: PointerEvent): [number, number] {
  const rect = view.getBoundingClientRect();
  const [h, w] = info!.inputSize;
  return [
    (e.clientX - rect.left) / rect.width * (w + 2 * MARGIN) - MARGIN,
    (e.clientY - rect.top) / rect.height * (h + 2 * MARGIN) - MARGIN,
  ];
}
view.addEventListener("pointerdown", (e) => {
  if (!info) return;
  if (mode !== "draw") clearDrawing();
  view.setPointerCapture(e.pointerId);
  pen = toInput(e);
  inkCtx.beginPath();
  inkCtx.arc(pen[0], pen[1], BRUSH / 2, 0, 2 * Math.PI);
  inkCtx.fill();
  predictDrawing();
  e.preventDefault();
});
view.addEventListener("pointermove", (e) => {
  if (!pen) return;
  const to = toInput(e);
  inkCtx.beginPath();
  inkCtx.moveTo(pen[0], pen[1]);
  inkCtx.lineTo(to[0], to[1]);
  inkCtx.stroke();
  pen = to;
  drawScaled(viewCtx, inkPixels(), info!.inputSize[1], info!.inputSize[0], MARGIN);
  predictDrawing();
  e.preventDefault();
});
for (const type of ["pointerup", "pointercancel"]) view.addEventListener(type, () => (pen = null));

// ---- start ----

$<HTMLButtonElement>("new").onclick = () => sequence(Math.floor(Math.random() * 10000));
indexInput.onchange = () => sequence(Math.max(0, Math.min(9999, Math.floor(Number(indexInput.value) || 0))));
$<HTMLButtonElement>("draw").onclick = () => clearDrawing();
$<HTMLButtonElement>("clear").onclick = () => clearDrawing();
clutterBox.onchange = () => setClutter(clutterBox.checked);
const params = new URLSearchParams(location.search);
const trainedBox = $<HTMLInputElement>("trained");
trainedBox.checked = params.get("trained") === "1";
trainedBox.onchange = () => {
  if (trainedBox.checked) params.set("trained", "1");
  else params.delete("trained");
  location.search = params.toString();
};

async function start(): Promise<Ready> {
  const backend = params.get("backend");
  const meta = await (await fetch("./mnist_subset.json")).json();
  worker.postMessage(
    {
      type: "init",
      backend,
      model: "./model/",
      trained: trainedBox.checked,
      subset: `./${meta.file}`,
      sha256: meta.sha256,
    } satisfies Request,
  );
  info = await ready;
  const [h, w] = info.inputSize;
  [view.width, view.height] = [(w + 2 * MARGIN) * ZOOM, (h + 2 * MARGIN) * ZOOM];
  [view.style.width, view.style.height] = [`${view.width}px`, `${view.height}px`];
  view.dataset.margin = String(MARGIN); // for the Chromium test's strokes
  ink = new OffscreenCanvas(w, h);
  inkCtx = ink.getContext("2d", { willReadFrequently: true })!;
  Object.assign(inkCtx, { strokeStyle: "#fff", lineWidth: BRUSH, lineCap: "round", lineJoin: "round" });
  inkCtx.fillStyle = "#000";
  inkCtx.fillRect(0, 0, w, h);
  inkCtx.fillStyle = "#fff";
  buildSteps(info.steps, info.glimpseSize);
  document.body.dataset.ready = "true";
  await sequence(Number(indexInput.value) || 0);
  return info;
}

const started = start().catch((e) => {
  status.textContent = `could not start: ${e.message}`;
  throw e;
});
// A handle for people poking at the page from the console, and for the Chromium test.
Object.assign(globalThis, {
  demo: { ready: started, sequence, settled, clear: clearDrawing, setClutter, last: () => last },
});

/**
 * Draws what the RNN-SPN attends to, in the style of the paper's figure: per sequence the input with each
 * step's sampling region (the corners of `affineGrid`'s output, mapped to pixels) as a coloured
 * quadrilateral, and per step the glimpse the classifier saw, the predicted digit with its probability and
 * the true digit (mismatches in red).
 *
 * ```sh
 * MNIST_DIR=../shared/mnist npx -y deno@2.9.6 run -A examples/visualize.ts --model pretrained --n 8 --out docs/attention.png
 * npx -y deno@2.9.6 run -A examples/visualize.ts --model runs/rnn-spn/best --image my_digits.png --out mine.png
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { rename, stat, writeFile } from "node:fs/promises";
import { decode, encode } from "fast-png";
import * as tf from "@tensorflow/tfjs";
import {
  affineGrid,
  type BackendName,
  ClutteredMnist,
  type ClutteredSplit,
  loadMnist,
  loadModel,
  loadPretrained,
  RecurrentAttention,
  selectBackend,
} from "../mod.ts";
import { type Rgb, RgbCanvas, textWidth } from "./visualize_draw.ts";

const HELP = `Usage: deno run -A examples/visualize.ts [flags]

  --model DIR|pretrained|random  a saved RNN-SPN (model.json + weights.bin, or a run directory with best/),
                                 loadPretrained()'s model, or untrained weights to try the pipeline
                                 (default pretrained)
  --split train|valid|test       which cluttered MNIST split (default test; needs MNIST_DIR)
  --n N                          sequences, from index --start (default 8, start 0)
  --seed S                       data-set seed (default 1, as in examples/evaluate.ts)
  --image FILE.png               your own grey image of the model's input size instead of a split; repeat
                                 for several. White digits on black, as in MNIST; --invert for black on white
  --cols C                       sequences per row of the picture (default 2)
  --out FILE                     the picture, .png or .svg (default attention.png)
  --backend wasm|cpu|webgpu      (default wasm)
  --help                         this text
`;

const { values: args } = parseArgs({
  options: {
    model: { type: "string" },
    split: { type: "string", default: "test" },
    n: { type: "string", default: "8" },
    start: { type: "string", default: "0" },
    seed: { type: "string", default: "1" },
    image: { type: "string", multiple: true },
    invert: { type: "boolean", default: false },
    cols: { type: "string", default: "2" },
    out: { type: "string", default: "attention.png" },
    backend: { type: "string", default: "wasm" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});
if (args.help) {
  console.log(HELP);
  Deno.exit(0);
}

function fail(message: string): never {
  console.error(`visualize: ${message}`);
  Deno.exit(2);
}
function intFlag(name: string, value: string, min: number): number {
  const v = Number(value);
  if (!Number.isInteger(v) || v < min) {
    fail(`--${name} must be an integer >= ${min}; got ${JSON.stringify(value)}`);
  }
  return v;
}
const split = args.split as ClutteredSplit;
if (!["train", "valid", "test"].includes(split)) {
  fail(`--split must be train, valid or test; got ${args.split}`);
}
const [n, start, seed, cols] = [
  intFlag("n", args.n, 1),
  intFlag("start", args.start, 0),
  intFlag("seed", args.seed, 0),
  intFlag("cols", args.cols, 1),
];
if (!/\.(png|svg)$/i.test(args.out)) fail(`--out must end in .png or .svg; got ${JSON.stringify(args.out)}`);
if (!["wasm", "cpu", "webgpu"].includes(args.backend)) {
  fail(`--backend must be wasm, cpu or webgpu; got ${JSON.stringify(args.backend)}`);
}

const exists = (path: string) => stat(path).then(() => true, () => false);

// The picture's folder must exist before any work is done (was: a stack trace after the work).
const outDir = args.out.includes("/") ? args.out.slice(0, args.out.lastIndexOf("/")) || "/" : ".";
const outDirStat = await stat(outDir).catch(() => undefined);
if (!outDirStat?.isDirectory()) {
  fail(`--out ${args.out}: the folder ${outDir} ${outDirStat ? "is not a directory" : "does not exist"}`);
}

/** The most bytes an --image file may have (a 100×100 PNG has a few kB). */
const MAX_PNG_BYTES = 16 * 2 ** 20;
const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/**
 * The PNG file at `path`, refused unless its header says `w × h` pixels: read from the IHDR chunk before
 * anything is decoded, so that a small file claiming a huge image (a "PNG bomb") allocates nothing.
 */
async function readPngChecked(path: string, [h, w]: readonly [number, number]): Promise<Uint8Array> {
  const info = await stat(path).catch((e) => fail(`--image ${path}: cannot read it (${e.message})`));
  if (!info.isFile()) fail(`--image ${path}: not a regular file`);
  if (info.size > MAX_PNG_BYTES) fail(`--image ${path}: ${info.size} bytes, more than ${MAX_PNG_BYTES}`);
  const bytes = await Deno.readFile(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isPng = bytes.length >= 24 && PNG_SIGNATURE.every((b, i) => bytes[i] === b) &&
    String.fromCharCode(...bytes.subarray(12, 16)) === "IHDR";
  if (!isPng) fail(`--image ${path}: not a PNG file (no PNG signature and IHDR header)`);
  const [width, height] = [view.getUint32(16), view.getUint32(20)];
  if (width !== w || height !== h) {
    fail(`--image ${path}: the model takes ${w}×${h} images; this one is ${width}×${height}`);
  }
  return bytes;
}

async function resolveModel(spec: string | undefined): Promise<{ model: RecurrentAttention; from: string }> {
  spec ??= "pretrained";
  if (spec === "random") return { model: new RecurrentAttention(), from: "untrained weights (seed 0)" };
  if (spec === "pretrained") return { model: await loadPretrained(), from: "loadPretrained()" };
  let dir = spec.replace(/\/$/, "");
  if (!(await exists(`${dir}/model.json`)) && (await exists(`${dir}/best/model.json`))) dir = `${dir}/best`;
  if (!(await exists(`${dir}/model.json`))) {
    fail(`--model ${spec}: no model.json there (nor in ${spec}/best)`);
  }
  const model = await loadModel(dir, { accept: "rnnspn" });
  if (!(model instanceof RecurrentAttention)) {
    model.dispose();
    fail(`--model ${dir} holds a "${model.kind}" model; only an RNN-SPN ("rnn-spn") has steps to draw`);
  }
  return { model, from: dir };
}

/** A PNG file as grey pixels in [0, 1] (alpha multiplied in, colour by luma). */
async function readGrey(path: string, [h, w]: readonly [number, number]): Promise<Float32Array> {
  const bytes = await readPngChecked(path, [h, w]);
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (e) {
    fail(`--image ${path}: not a readable PNG file (${e instanceof Error ? e.message : e})`);
  }
  if (png.palette) fail(`--image ${path}: palette PNGs are not supported; save it as greyscale or RGB`);
  if (png.width !== w || png.height !== h) {
    fail(`--image ${path}: the model takes ${w}×${h} images; this one is ${png.width}×${png.height}`);
  }
  const ch = png.channels, max = 2 ** png.depth - 1, data = png.data;
  const out = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const p = i * ch;
    const luma = ch >= 3 ? 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2] : data[p];
    const alpha = ch === 2 || ch === 4 ? data[p + ch - 1] / max : 1;
    const v = (luma / max) * alpha;
    out[i] = args.invert ? alpha - v : v;
  }
  return out;
}

await selectBackend(args.backend as BackendName);
const { model, from } = await resolveModel(args.model);
const [H, W] = model.inputSize;

// The input: the user's images, or sequences start..start+n−1 of a split.
let images: tf.Tensor4D, truth: Int32Array | null = null, names: string[];
if (args.image?.length) {
  const pixels = await Promise.all(args.image.map((p) => readGrey(p, model.inputSize)));
  const all = new Float32Array(pixels.length * H * W);
  pixels.forEach((p, i) => all.set(p, i * H * W));
  images = tf.tensor4d(all, [pixels.length, H, W, 1]);
  names = args.image;
} else {
  const ds = new ClutteredMnist(await loadMnist(), { seed });
  if (start + n > ds.size(split)) {
    fail(`--start ${start} --n ${n} runs past the ${ds.size(split)} ${split} sequences`);
  }
  const indices = Array.from({ length: n }, (_, i) => start + i);
  const batch = ds.batch(split, indices);
  images = batch.images;
  truth = batch.labels.dataSync() as Int32Array;
  batch.labels.dispose();
  names = indices.map((i) => `${split} ${i}`);
}

// One forward pass through the public predict(); the glimpses come from the model's own Glimpses layer
// applied to the predicted θ, so they are exactly what its classifier saw.
const pred = model.predict(images);
const steps = model.steps, b = images.shape[0];
const glimpseLayer = model.model.getLayer("glimpses");
const alignCorners = (glimpseLayer.getConfig().alignCorners as boolean | undefined) ?? true;
const thetaRows = tf.reshape(pred.theta!, [b * steps, 6]) as tf.Tensor2D;
const glimpses = glimpseLayer.apply([images, tf.reshape(thetaRows, [b, steps, 6])]) as tf.Tensor4D;
const [, gh, gw] = glimpses.shape as number[];
const grid = affineGrid(thetaRows, [gh, gw], alignCorners);
const [imageData, glimpseData, probData, digitData, gridData] = await Promise.all(
  [images, glimpses, pred.probabilities, pred.digits, grid].map((t) => t.data()),
);
tf.dispose([images, glimpses, grid, thetaRows, pred.logits, pred.theta!, pred.probabilities, pred.digits]);
model.dispose();

/** Step s's sampling region of sequence i: the grid's four corners in input pixel coordinates. */
function corners(i: number, s: number): [number, number][] {
  const m = i * steps + s;
  const at = (r: number, c: number): [number, number] => {
    const o = ((m * gh + r) * gw + c) * 2;
    const [x, y] = [gridData[o] as number, gridData[o + 1] as number];
    // Normalised [-1, 1] → pixel centres 0..W−1 (alignCorners) or pixel edges (−0.5..W−0.5).
    return alignCorners
      ? [(x + 1) / 2 * (W - 1), (y + 1) / 2 * (H - 1)]
      : [((x + 1) * W - 1) / 2, ((y + 1) * H - 1) / 2];
  };
  return [at(0, 0), at(0, gw - 1), at(gh - 1, gw - 1), at(gh - 1, 0)];
}

const STEP_COLOURS: Rgb[] = [[0, 200, 255], [255, 200, 0], [255, 80, 255], [80, 255, 120], [255, 140, 60]];
const RED: Rgb = [255, 60, 60], GREY: Rgb = [170, 170, 170], WHITE: Rgb = [255, 255, 255];
const BG: Rgb = [32, 32, 32];
const IN_SCALE = 2, G_SCALE = Math.max(1, Math.floor(132 / gh)), PAD = 10;
const tileW = PAD + W * IN_SCALE + steps * (PAD + gw * G_SCALE) + PAD;
const textTop = PAD + gh * G_SCALE + 8;
const tileH = Math.max(PAD + H * IN_SCALE + 14, textTop + 25 + 6 + 15 + PAD) + 4;
const rows = Math.ceil(b / cols), width = Math.min(b, cols) * tileW, height = rows * tileH;
const colour = (s: number) => STEP_COLOURS[s % STEP_COLOURS.length];

interface StepInfo {
  digit: number;
  p: number;
  truth: number | null;
  quad: [number, number][];
}
const info: StepInfo[][] = Array.from({ length: b }, (_, i) =>
  Array.from({ length: steps }, (_, s) => {
    const digit = digitData[i * steps + s] as number;
    const p = probData[(i * steps + s) * 10 + digit] as number;
    return { digit, p, truth: truth ? truth[i * steps + s] : null, quad: corners(i, s) };
  }));
for (let i = 0; i < b; i++) {
  const d = info[i];
  console.log(
    `${names[i]}: predicted ${d.map((x) => x.digit).join(" ")} (p ${
      d.map((x) => x.p.toFixed(3)).join(" ")
    })` +
      (truth ? `, true ${d.map((x) => x.truth).join(" ")}` : ""),
  );
}
const percent = (p: number) => `${Math.min(99, Math.floor(p * 100))}%`;

function renderPng(): Uint8Array {
  const img = new RgbCanvas(width, height, BG);
  for (let i = 0; i < b; i++) {
    const x0 = (i % cols) * tileW, y0 = Math.floor(i / cols) * tileH;
    img.drawGrey(
      imageData.subarray(i * H * W, (i + 1) * H * W) as Float32Array,
      W,
      H,
      x0 + PAD,
      y0 + PAD,
      IN_SCALE,
    );
    info[i].forEach((st, s) => {
      const pts = st.quad.map(([x, y]) =>
        [x0 + PAD + (x + 0.5) * IN_SCALE, y0 + PAD + (y + 0.5) * IN_SCALE] as const
      );
      // Regions may reach past the image: drawn into its margin, clipped before the glimpses.
      img.clip = [x0 + 2, y0 + 2, W * IN_SCALE + 2 * PAD - 4, H * IN_SCALE + 2 * PAD - 4];
      img.polygon(pts, colour(s), 2);
      img.clip = null;
      const gx = x0 + PAD + W * IN_SCALE + PAD + s * (PAD + gw * G_SCALE), gy = y0 + PAD;
      const g = glimpseData.subarray(
        (i * steps + s) * gh * gw,
        (i * steps + s + 1) * gh * gw,
      ) as Float32Array;
      img.drawGrey(g, gw, gh, gx, gy, G_SCALE);
      img.strokeRect(gx - 2, gy - 2, gw * G_SCALE + 4, gh * G_SCALE + 4, colour(s), 2);
      const wrong = st.truth !== null && st.truth !== st.digit;
      img.text(String(st.digit), gx, y0 + textTop, 5, wrong ? RED : colour(s));
      img.text(percent(st.p), gx + textWidth("0", 5) + 8, y0 + textTop + 10, 3, WHITE);
      if (st.truth !== null) img.text(`TRUE ${st.truth}`, gx, y0 + textTop + 31, 3, wrong ? RED : GREY);
    });
    img.text(
      // The file name (not its folders), as far as it fits; the font draws any character.
      [...names[i].slice(names[i].lastIndexOf("/") + 1)].slice(0, 16).join(""),
      x0 + PAD,
      y0 + PAD + H * IN_SCALE + 4,
      2,
      GREY,
    );
  }
  return encode({ width, height, data: img.data, channels: 3, depth: 8 });
}

function greyPngUri(pixels: Float32Array, w: number, h: number): string {
  const data = Uint8Array.from(pixels, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  const bytes = encode({ width: w, height: h, data, channels: 1, depth: 8 });
  let s = "";
  for (const x of bytes) s += String.fromCharCode(x);
  return `data:image/png;base64,${btoa(s)}`;
}

function renderSvg(): Uint8Array {
  const hex = (c: Rgb) => `rgb(${c.join(",")})`;
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace">`,
    `<rect width="100%" height="100%" fill="${hex(BG)}"/>`,
  ];
  for (let i = 0; i < b; i++) {
    const x0 = (i % cols) * tileW, y0 = Math.floor(i / cols) * tileH;
    const uri = greyPngUri(imageData.subarray(i * H * W, (i + 1) * H * W) as Float32Array, W, H);
    parts.push(
      `<image x="${x0 + PAD}" y="${y0 + PAD}" width="${W * IN_SCALE}" height="${
        H * IN_SCALE
      }" href="${uri}" style="image-rendering:pixelated"/>`,
    );
    parts.push(
      `<clipPath id="input${i}"><rect x="${x0 + 2}" y="${y0 + 2}" width="${
        W * IN_SCALE + 2 * PAD - 4
      }" height="${H * IN_SCALE + 2 * PAD - 4}"/></clipPath>`,
    );
    info[i].forEach((st, s) => {
      const pts = st.quad.map(([x, y]) =>
        `${x0 + PAD + (x + 0.5) * IN_SCALE},${y0 + PAD + (y + 0.5) * IN_SCALE}`
      );
      parts.push(
        `<polygon points="${pts.join(" ")}" fill="none" stroke="${
          hex(colour(s))
        }" stroke-width="2" clip-path="url(#input${i})"/>`,
      );
      const gx = x0 + PAD + W * IN_SCALE + PAD + s * (PAD + gw * G_SCALE), gy = y0 + PAD;
      const g = glimpseData.subarray(
        (i * steps + s) * gh * gw,
        (i * steps + s + 1) * gh * gw,
      ) as Float32Array;
      parts.push(
        `<image x="${gx}" y="${gy}" width="${gw * G_SCALE}" height="${gh * G_SCALE}" href="${
          greyPngUri(g, gw, gh)
        }" style="image-rendering:pixelated"/>`,
        `<rect x="${gx - 1}" y="${gy - 1}" width="${gw * G_SCALE + 2}" height="${
          gh * G_SCALE + 2
        }" fill="none" stroke="${hex(colour(s))}" stroke-width="2"/>`,
      );
      const wrong = st.truth !== null && st.truth !== st.digit;
      parts.push(
        `<text x="${gx}" y="${y0 + textTop + 24}" font-size="30" fill="${
          hex(wrong ? RED : colour(s))
        }">${st.digit}</text>`,
        `<text x="${gx + 28}" y="${y0 + textTop + 24}" font-size="16" fill="${hex(WHITE)}">${
          (st.p * 100).toFixed(1)
        }%</text>`,
      );
      if (st.truth !== null) {
        parts.push(
          `<text x="${gx}" y="${y0 + textTop + 44}" font-size="15" fill="${
            hex(wrong ? RED : GREY)
          }">true ${st.truth}</text>`,
        );
      }
    });
    parts.push(
      `<text x="${x0 + PAD}" y="${y0 + PAD + H * IN_SCALE + 14}" font-size="12" fill="${hex(GREY)}">${
        esc(names[i])
      }</text>`,
    );
  }
  parts.push("</svg>\n");
  return new TextEncoder().encode(parts.join("\n"));
}

const bytes = args.out.toLowerCase().endsWith(".svg") ? renderSvg() : renderPng();
// Written under a temporary name and renamed, so an existing picture is never left half-written.
const temp = `${args.out}.tmp-${Deno.pid}`;
await writeFile(temp, bytes);
await rename(temp, args.out);
const wrongSteps = info.flat().filter((s) => s.truth !== null && s.truth !== s.digit).length;
console.log(
  `wrote ${args.out}: ${b} sequence(s) × ${steps} steps, ${width}×${height} px, model ${from}` +
    (truth ? `; ${wrongSteps} of ${b * steps} digits wrong` : ""),
);

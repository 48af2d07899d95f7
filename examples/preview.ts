/**
 * Writes a PNG grid of cluttered MNIST samples, each with its label sequence printed underneath.
 *
 * ```sh
 * MNIST_DIR=../shared/mnist npx -y deno@2.9.6 run -A examples/preview.ts --split train --seed 0 --out examples/preview.png
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { encode } from "fast-png";
import { ClutteredMnist, type ClutteredSplit, loadMnist } from "../mod.ts";

const { values: args } = parseArgs({
  options: {
    split: { type: "string", default: "train" },
    seed: { type: "string", default: "0" },
    start: { type: "string", default: "0" },
    rows: { type: "string", default: "3" },
    cols: { type: "string", default: "4" },
    out: { type: "string", default: "examples/preview.png" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(
    "usage: preview.ts [--split train|valid|test] [--seed N] [--start I] [--rows R] [--cols C] [--out F]",
  );
  Deno.exit(0);
}

// A 3×5 bitmap font for the digits 0–9, one string per row ("#" = ink).
const FONT = [
  ["###", "#.#", "#.#", "#.#", "###"],
  [".#.", "##.", ".#.", ".#.", "###"],
  ["###", "..#", "###", "#..", "###"],
  ["###", "..#", "###", "..#", "###"],
  ["#.#", "#.#", "###", "..#", "..#"],
  ["###", "#..", "###", "..#", "###"],
  ["###", "#..", "###", "#.#", "###"],
  ["###", "..#", ".#.", ".#.", ".#."],
  ["###", "#.#", "###", "#.#", "###"],
  ["###", "#.#", "###", "..#", "###"],
];
const SCALE = 3; // font pixels per bitmap cell
const GAP = 6; // background between tiles
const STRIP = 5 * SCALE + 2 * GAP; // label strip under each image

/** Draws `text` (digits only) centred at column `cx`, top row `y`, into a grayscale canvas. */
function drawDigits(canvas: Uint8Array, width: number, text: string, cx: number, y: number): void {
  const advance = 4 * SCALE;
  let x = cx - Math.floor((text.length * advance - SCALE) / 2);
  for (const ch of text) {
    FONT[Number(ch)].forEach((row, r) => {
      [...row].forEach((cell, c) => {
        if (cell !== "#") return;
        for (let dy = 0; dy < SCALE; dy++) {
          canvas.fill(
            255,
            (y + r * SCALE + dy) * width + x + c * SCALE,
            (y + r * SCALE + dy) * width + x + (c + 1) * SCALE,
          );
        }
      });
    });
    x += advance;
  }
}

const split = args.split as ClutteredSplit;
const [seed, start, rows, cols] = [args.seed, args.start, args.rows, args.cols].map(Number);
const ds = new ClutteredMnist(await loadMnist(), { seed });
const size = ds.config.canvas;
const tileW = size + GAP, tileH = size + STRIP;
const width = cols * tileW + GAP, height = rows * tileH + GAP;
const png = new Uint8Array(width * height).fill(48); // dark gray background, black canvases
for (let r = 0; r < rows; r++) {
  for (let c = 0; c < cols; c++) {
    const index = start + r * cols + c;
    const { image, labels } = ds.sample(split, index);
    const x0 = GAP + c * tileW, y0 = GAP + r * tileH;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) png[(y0 + y) * width + x0 + x] = Math.round(image[y * size + x] * 255);
    }
    drawDigits(png, width, labels.join(""), x0 + size / 2, y0 + size + GAP);
  }
}
await Deno.writeFile(args.out, encode({ width, height, data: png, channels: 1, depth: 8 }));
console.log(
  `wrote ${args.out}: ${rows}×${cols} ${split} samples from index ${start} (seed ${seed}), ${width}×${height} px`,
);

/**
 * Winograd F(2×2, 3×3) against the direct wasm kernels (XNNPACK's `Conv2D`/`FusedConv2D`, our
 * `Conv2DBackpropFilter` GEMM, our XNNPACK-routed `Conv2DBackpropInput`) on the 3×3 convolutions of
 * the SPN and RNN-SPN training steps, A/B in one process: the two paths alternate, `--reps` times
 * each, and the table gives their medians and effective GFLOP/s (direct convolution's
 * 2·B·OH·OW·9·CI·CO FLOPs for both, so the rates compare like the times do).
 *
 *   deno run -A bench/winograd_report.ts [--reps 7] [--tile auto|2|4] [--chunk 12] [--filter 96]
 *
 * Shapes below `winogradSettings.minChannels` are timed too (the threshold is forced off here), so
 * the table shows where Winograd does not pay.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { winogradSettings, winogradTile } from "../src/kernels/wasm/winograd.ts";
import { median, timeAlternating } from "./_timing.ts";

type S4 = [number, number, number, number];

/** One 3×3 valid, stride-1 convolution of a training step. */
interface Case {
  name: string;
  x: S4;
  co: number;
}

const CASES: readonly Case[] = [
  { name: "SPN conv2", x: [100, 15, 15, 96], co: 96 },
  { name: "SPN conv3", x: [100, 6, 6, 96], co: 96 },
  { name: "RNN-SPN conv2", x: [300, 15, 15, 32], co: 32 },
  { name: "RNN-SPN conv3", x: [300, 6, 6, 32], co: 32 },
  { name: "localization 1", x: [100, 24, 24, 20], co: 20 },
  { name: "localization 2", x: [100, 11, 11, 20], co: 20 },
  { name: "narrow", x: [100, 15, 15, 8], co: 8 },
  { name: "narrow", x: [100, 15, 15, 16], co: 16 },
  { name: "first conv", x: [300, 33, 33, 1], co: 32 },
  { name: "first conv", x: [100, 33, 33, 1], co: 96 },
];

const OPS = ["Conv2D", "FusedConv2D relu", "Conv2DBackpropInput", "Conv2DBackpropFilter"] as const;
type Op = typeof OPS[number];

function run(op: Op, t: { x: tf.Tensor4D; w: tf.Tensor4D; b: tf.Tensor1D; dy: tf.Tensor4D }): void {
  const attrs = { strides: [1, 1], pad: "valid", dataFormat: "NHWC" };
  const out = op === "Conv2D"
    ? tf.conv2d(t.x, t.w, 1, "valid")
    : op === "FusedConv2D relu"
    ? tf.fused.conv2d({ x: t.x, filter: t.w, strides: 1, pad: "valid", bias: t.b, activation: "relu" })
    : op === "Conv2DBackpropFilter"
    ? tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: t.x, dy: t.dy }, {
      ...attrs,
      filterShape: t.w.shape,
    } as unknown as tf.NamedAttrMap) as tf.Tensor
    : tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: t.dy, filter: t.w }, {
      ...attrs,
      inputShape: t.x.shape,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
  out.dataSync();
  out.dispose();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      reps: { type: "string", default: "7" },
      chunk: { type: "string", default: String(winogradSettings.chunk) },
      filter: { type: "string", default: "" },
      tile: { type: "string", default: "auto" },
    },
  });
  const reps = Number(values.reps);
  winogradSettings.chunk = Number(values.chunk);
  winogradSettings.tile = values.tile === "2" ? 2 : values.tile === "4" ? 4 : 0;
  const minChannels = winogradSettings.minChannels;
  winogradSettings.minChannels = 1;
  await selectBackend("wasm");
  console.log(
    `tile ${values.tile}, chunk ${winogradSettings.chunk}, reps ${reps}, load ${
      Deno.loadavg().map((l) => l.toFixed(2))
    }`,
  );
  console.log(
    "| shape | op | tile | direct ms | Winograd ms | direct GFLOP/s | Winograd GFLOP/s | speed-up |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const c of CASES) {
    if (values.filter && !c.name.includes(values.filter) && !String(c.x[3]).includes(values.filter)) continue;
    const [b, h, w, ci] = c.x;
    const [oh, ow] = [h - 2, w - 2];
    const t = {
      x: tf.randomUniform(c.x, -1, 1, "float32", 1) as tf.Tensor4D,
      w: tf.randomUniform([3, 3, ci, c.co], -1, 1, "float32", 2) as tf.Tensor4D,
      b: tf.randomUniform([c.co], -1, 1, "float32", 4) as tf.Tensor1D,
      dy: tf.randomUniform([b, oh, ow, c.co], -1, 1, "float32", 3) as tf.Tensor4D,
    };
    const gflop = 2 * b * oh * ow * 9 * ci * c.co / 1e9;
    const m = winogradTile(tf.backend_util.computeConv2DInfo(c.x, [3, 3, ci, c.co], 1, 1, "valid"));
    for (const op of OPS) {
      const times = timeAlternating({
        direct: () => (winogradSettings.enabled = false, run(op, t)),
        winograd: () => (winogradSettings.enabled = true, run(op, t)),
      }, reps);
      const [d, wi] = [median(times.direct), median(times.winograd)];
      console.log(
        `| ${c.name} [${c.x}]→${c.co} | ${op} | F${m} | ${d.toFixed(1)} | ${wi.toFixed(1)} | ${
          (gflop / d * 1e3).toFixed(1)
        } | ${(gflop / wi * 1e3).toFixed(1)} | ${(d / wi).toFixed(2)}× |`,
      );
    }
    tf.dispose(Object.values(t));
  }
  winogradSettings.enabled = true;
  winogradSettings.minChannels = minChannels;
}

if (import.meta.main) await main();

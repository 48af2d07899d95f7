/**
 * The fused multiply-add (relaxed SIMD) kernels against their SIMD128 versions
 * (`src/kernels/wasm/fma.ts`), per kernel on the models' shapes, A/B in one process: the two paths
 * alternate (which goes first alternates too), `--reps` times each; the table gives their medians,
 * GFLOP/s (the direct algorithm's FLOPs for both, so Winograd's rate is an effective one) and the
 * ratio, with the load average.
 *
 *   deno run -A bench/fma_ab.ts [--reps 9] [--only LIST]   (LIST: gemm, winograd, conv, narrow)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { fmaStatus, setFmaEnabled } from "../src/kernels/wasm/fma.ts";
import { winogradSettings } from "../src/kernels/wasm/winograd.ts";
import { median, timeAlternating } from "./_timing.ts";

const { values: args } = parseArgs({
  options: { reps: { type: "string", default: "9" }, only: { type: "string" } },
});
const SECTIONS = ["gemm", "winograd", "conv", "narrow"];
const only = args.only?.split(",").map((s) => s.trim()) ?? SECTIONS;
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only: ${s} is not one of ${SECTIONS}`);
const want = (section: string) => only.includes(section);
const reps = Number(args.reps);
if (!Number.isInteger(reps) || reps < 1) {
  throw new Error(`--reps must be a positive integer; got ${args.reps}`);
}

await selectBackend("wasm");
if (!fmaStatus().supported) throw new Error("this engine has no relaxed SIMD: nothing to compare");

// Every timed function returns nothing from its tidy: tidy walks a returned container element by
// element, which for a typed array of a million outputs costs seconds.
/** Median ms of `fn` with FMA off and on, alternating. */
function ab(fn: () => void): [number, number] {
  const t = timeAlternating({
    off: () => (setFmaEnabled(false), fn()),
    on: () => (setFmaEnabled(true), fn()),
  }, reps);
  setFmaEnabled(true);
  return [median(t.off), median(t.on)];
}

const rows: string[] = [];
function report(name: string, flops: number, [off, on]: [number, number]): void {
  const gf = (ms: number) => (flops / ms / 1e6).toFixed(1);
  rows.push(
    `| ${name} | ${off.toFixed(2)} (${gf(off)}) | ${on.toFixed(2)} (${gf(on)}) | ${(off / on).toFixed(2)}× |`,
  );
}

// BatchMatMul on its own GEMM (a fresh b each call, as after an optimizer step): the models'
// dense forward products, and a batched one.
for (const [m, k, n] of want("gemm") ? [[100, 1620, 768], [100, 256, 512], [300, 400, 512]] : []) {
  const a = tf.randomUniform([m, k]), b0 = tf.randomUniform([k, n]);
  report(
    `BatchMatMul [${m}, ${k}]·[${k}, ${n}]`,
    2 * m * k * n,
    ab(() => {
      const b = tf.clone(b0); // a new tensor, as the weights are after every step
      tf.tidy(() => void tf.matMul(a, b).dataSync());
      b.dispose();
    }),
  );
  tf.dispose([a, b0]);
}

type S4 = [number, number, number, number];
const convs: { name: string; x: S4; co: number; k: number; winograd: boolean }[] = [
  { name: "SPN conv2 (Winograd)", x: [100, 15, 15, 96], co: 96, k: 3, winograd: true },
  { name: "SPN conv3 (Winograd)", x: [100, 6, 6, 96], co: 96, k: 3, winograd: true },
  { name: "RNN-SPN conv2 (Winograd)", x: [300, 15, 15, 32], co: 32, k: 3, winograd: true },
  { name: "SPN conv2 (direct GEMM)", x: [100, 15, 15, 96], co: 96, k: 3, winograd: false },
  { name: "localization 5×5", x: [100, 28, 28, 20], co: 20, k: 5, winograd: false },
];
for (const c of convs.filter((c) => want(c.winograd ? "winograd" : "conv"))) {
  winogradSettings.enabled = c.winograd;
  const [b, h, w, ci] = c.x;
  const x = tf.randomUniform(c.x) as tf.Tensor4D;
  const f = tf.randomUniform([c.k, c.k, ci, c.co]) as tf.Tensor4D;
  const oh = h - c.k + 1, ow = w - c.k + 1;
  const dy = tf.randomUniform([b, oh, ow, c.co]) as tf.Tensor4D;
  const flops = 2 * b * oh * ow * c.k * c.k * ci * c.co;
  const attrs = {
    strides: [1, 1],
    pad: "valid",
    dataFormat: "NHWC",
    dilations: [1, 1],
  } as unknown as tf.NamedAttrMap;
  const run = (kernel: string, inputs: tf.NamedTensorMap, extra: object) => () =>
    tf.tidy(() =>
      void (tf.engine().runKernel(kernel, inputs, { ...attrs, ...extra }) as tf.Tensor).dataSync()
    );
  if (c.winograd) {
    report(`${c.name} Conv2D`, flops, ab(run("Conv2D", { x, filter: f }, {})));
    report(`${c.name} ∂x`, flops, ab(run("Conv2DBackpropInput", { dy, filter: f }, { inputShape: c.x })));
  }
  report(`${c.name} ∂W`, flops, ab(run("Conv2DBackpropFilter", { x, dy }, { filterShape: f.shape })));
  tf.dispose([x, f, dy]);
}
winogradSettings.enabled = true;

// The one-input-channel 3×3 convolutions (conv_narrow.ts): the first layer behind the transformer.
for (const [b, h, co] of want("narrow") ? [[100, 33, 96], [300, 33, 32]] : []) {
  const x = tf.randomUniform([b, h, h, 1]) as tf.Tensor4D;
  const f = tf.randomUniform([3, 3, 1, co]) as tf.Tensor4D, bias = tf.randomUniform([co]) as tf.Tensor1D;
  const dy = tf.randomUniform([b, h - 2, h - 2, co]) as tf.Tensor4D;
  const flops = 2 * b * (h - 2) * (h - 2) * 9 * co;
  const attrs = { strides: [1, 1], pad: "valid", dataFormat: "NHWC", dilations: [1, 1] };
  const name = `1→${co} 3×3 on [${b}, ${h}, ${h}]`;
  report(
    `${name} forward+bias+relu`,
    flops,
    ab(() =>
      tf.tidy(() =>
        void tf.fused.conv2d({ x, filter: f, strides: 1, pad: "valid", bias, activation: "relu" }).dataSync()
      )
    ),
  );
  report(
    `${name} ∂x`,
    flops,
    ab(() =>
      tf.tidy(() =>
        void (tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: f }, {
          ...attrs,
          inputShape: x.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor).dataSync()
      )
    ),
  );
  report(
    `${name} ∂W`,
    flops,
    ab(() =>
      tf.tidy(() =>
        void (tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          ...attrs,
          filterShape: f.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor).dataSync()
      )
    ),
  );
  tf.dispose([x, f, bias, dy]);
}

console.log(`relaxed SIMD FMA against SIMD128, median of ${reps} alternating runs each, ms (GFLOP/s)`);
console.log("| kernel | SIMD128 | FMA | speed-up |\n| --- | --- | --- | --- |");
for (const row of rows) console.log(row);
console.log(`load average ${Deno.loadavg().map((l) => l.toFixed(2)).join(", ")}`);

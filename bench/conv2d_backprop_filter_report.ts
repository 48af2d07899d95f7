/**
 * GFLOP/s of the convolution weight gradient (`Conv2DBackpropFilter`) on wasm (our Rust SIMD128
 * kernel) and cpu, next to tfjs-wasm's own forward `Conv2D` (XNNPACK) and the input gradient
 * `Conv2DBackpropInput` on the same shapes: the paper's classifier layer ([300, 31, 31, 32] ⊛
 * 3×3×32×32) and its localization network's first layer ([100, 48, 48, 1] ⊛ 3×3×1×20).
 *
 * All four products cost 2·B·OH·OW·KH·KW·CI·CO FLOPs. The cpu backend's kernel is a scalar loop
 * (~0.02 GFLOP/s), so it runs on a slice of the batch (its rate does not depend on the batch).
 *
 *   deno run -A bench/conv2d_backprop_filter_report.ts [--reps 5]
 *
 * `bench/conv2d_backprop_filter.bench.ts` times the same cases with `deno bench`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";

/** One benchmarked convolution shape. */
export interface ConvCase {
  /** Label for the report. */
  name: string;
  /** Input `x`, NHWC. */
  x: [number, number, number, number];
  /** Filter, [kh, kw, ci, co]. */
  filter: [number, number, number, number];
  /** Batch the cpu backend runs on (a slice of `x`'s). */
  cpuBatch: number;
}

/** The paper's shapes (3×3 valid convolutions, stride 1). */
export const CASES: readonly ConvCase[] = [
  { name: "classifier [300,31,31,32]→32", x: [300, 31, 31, 32], filter: [3, 3, 32, 32], cpuBatch: 1 },
  { name: "localization [100,48,48,1]→20", x: [100, 48, 48, 1], filter: [3, 3, 1, 20], cpuBatch: 4 },
];

/** What is timed for each case. */
export type Op = "forward Conv2D" | "Conv2DBackpropFilter" | "Conv2DBackpropInput";

/** FLOPs of one product for `batch` images of `c`. */
export function flops(c: ConvCase, batch: number): number {
  const [, h, w] = c.x;
  const [kh, kw, ci, co] = c.filter;
  return 2 * batch * (h - kh + 1) * (w - kw + 1) * kh * kw * ci * co;
}

/** Seeded inputs for `c` with `batch` images on the active backend: x, filter and dy. */
export function makeInputs(c: ConvCase, batch: number): { x: tf.Tensor4D; w: tf.Tensor4D; dy: tf.Tensor4D } {
  const [, h, wd, ci] = c.x;
  const [kh, kw, , co] = c.filter;
  return {
    x: tf.randomUniform([batch, h, wd, ci], -1, 1, "float32", 1) as tf.Tensor4D,
    w: tf.randomUniform(c.filter, -1, 1, "float32", 2) as tf.Tensor4D,
    dy: tf.randomUniform([batch, h - kh + 1, wd - kw + 1, co], -1, 1, "float32", 3) as tf.Tensor4D,
  };
}

/** Runs `op` once and waits for its result (disposed). */
export function runOp(op: Op, c: ConvCase, t: { x: tf.Tensor4D; w: tf.Tensor4D; dy: tf.Tensor4D }): void {
  const attrs = { strides: [1, 1], pad: "valid", dataFormat: "NHWC" };
  const out = op === "forward Conv2D"
    ? tf.conv2d(t.x, t.w, 1, "valid")
    : op === "Conv2DBackpropFilter"
    ? tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: t.x, dy: t.dy }, {
      ...attrs,
      filterShape: c.filter,
    } as unknown as tf.NamedAttrMap) as tf.Tensor
    : tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: t.dy, filter: t.w }, {
      ...attrs,
      inputShape: t.x.shape,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
  out.dataSync();
  out.dispose();
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { reps: { type: "string", default: "5" } } });
  const reps = Number(values.reps);
  const rows: string[] = [];
  for (const backend of ["wasm", "cpu"] as const) {
    await selectBackend(backend);
    for (const c of CASES) {
      const batch = backend === "cpu" ? c.cpuBatch : c.x[0];
      const t = makeInputs(c, batch);
      const ops: Op[] = backend === "wasm"
        ? ["forward Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput"]
        : ["Conv2DBackpropFilter"];
      for (const op of ops) {
        runOp(op, c, t); // warm-up (XNNPACK operator creation, arena growth)
        const times: number[] = [];
        for (let i = 0; i < (backend === "cpu" ? 1 : reps); i++) {
          const start = performance.now();
          runOp(op, c, t);
          times.push(performance.now() - start);
        }
        const ms = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
        const gflops = flops(c, batch) / ms / 1e6;
        rows.push(
          `| ${c.name} | ${backend} | ${op} | ${batch} | ${ms.toFixed(1)} | ${gflops.toFixed(2)} |`,
        );
        console.log(rows.at(-1));
      }
      tf.dispose([t.x, t.w, t.dy]);
    }
  }
  console.log("\n| shape | backend | op | batch | median ms | GFLOP/s |\n|---|---|---|---|---|---|");
  console.log(rows.join("\n"));
}

if (import.meta.main) await main();

/**
 * `deno bench` for the convolution weight gradient on wasm (our Rust kernel) and cpu, next to
 * tfjs-wasm's forward `Conv2D` and the input gradient on the paper's shapes. For GFLOP/s per shape
 * run `deno run -A bench/conv2d_backprop_filter_report.ts`. The cpu cases run on a slice of the batch
 * (its scalar loop is ~1000× slower), so compare rates there, not the times in the summary.
 */
import { selectBackend } from "../mod.ts";
import { CASES, makeInputs, type Op, runOp } from "./conv2d_backprop_filter_report.ts";
import { ignoreBackend, noteSkipped } from "./_permissions.ts";

for (const backend of ["wasm", "cpu"] as const) {
  if (ignoreBackend(backend)) noteSkipped("wasm benches");
  for (const c of CASES) {
    const batch = backend === "cpu" ? c.cpuBatch : c.x[0];
    const ops: Op[] = backend === "wasm"
      ? ["forward Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput"]
      : ["Conv2DBackpropFilter"];
    for (const op of ops) {
      Deno.bench({
        name: `${op} ${backend} ${c.name} (batch ${batch})`,
        group: c.name,
        baseline: backend === "wasm" && op === "forward Conv2D",
        ignore: ignoreBackend(backend),
        // The cpu kernel is a scalar loop: a couple of runs are enough to see its rate.
        ...(backend === "cpu" ? { n: 2, warmup: 1 } : { n: 10, warmup: 2 }),
        async fn(b) {
          await selectBackend(backend);
          const t = makeInputs(c, batch);
          b.start();
          runOp(op, c, t);
          b.end();
          t.x.dispose();
          t.w.dispose();
          t.dy.dispose();
        },
      });
    }
  }
}

/**
 * Where a training step's time goes: runs `trainStep` (the function `train()` calls) under
 * `tf.profile` after warm-up and prints the kernels ranked by total time, with their share of the
 * step, call counts and the costliest input shapes; the rest of the wall time (JS, tape, tidy,
 * allocations) is shown as "outside kernels".
 *
 * deno run -A bench/profile_step.ts [--model rnn-spn] [--ds 3] [--backend wasm] [--batch 100]
 *   [--warmup 2] [--steps 3] [--top 25] [--json]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../src/tf.ts";
import { registerKernels } from "../src/kernels/register.ts";
import { type BackendName, describeBackend, selectBackend } from "../src/backend.ts";
import { median } from "./_timing.ts";
import { makeRig, type ModelName, timeSteps } from "./train_step_timer.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "rnn-spn" },
    ds: { type: "string", default: "3" },
    backend: { type: "string", default: "wasm" },
    batch: { type: "string", default: "100" },
    warmup: { type: "string", default: "2" },
    steps: { type: "string", default: "3" },
    top: { type: "string", default: "25" },
    json: { type: "boolean", default: false },
  },
});

const batch = Number(args.batch), steps = Number(args.steps), top = Number(args.top);
registerKernels();
await selectBackend(args.backend as BackendName);
// The profiler would otherwise read every kernel's output back to look for NaNs.
tf.env().set("CHECK_COMPUTATION_FOR_ERRORS", false);
const rig = makeRig(args.model as ModelName, Number(args.ds), batch);
for (let i = 0; i < Number(args.warmup); i++) await rig.step();
const plain = await timeSteps(rig, steps);

interface Row {
  name: string;
  ms: number;
  calls: number;
  shapes: Map<string, number>;
}
const rows = new Map<string, Row>();
let profiledWall = 0;
for (let s = 0; s < steps; s++) {
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await rig.step();
  });
  profiledWall += performance.now() - t0;
  for (const k of info.kernels) {
    // "<op>__op" entries wrap the kernels they run (already listed): counting both would double them.
    if (k.name.endsWith("__op")) continue;
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    const row = rows.get(k.name) ?? { name: k.name, ms: 0, calls: 0, shapes: new Map() };
    row.ms += ms / steps;
    row.calls += 1 / steps;
    const key = k.inputShapes.map((sh) => `[${sh}]`).join(" ");
    row.shapes.set(key, (row.shapes.get(key) ?? 0) + ms / steps);
    rows.set(k.name, row);
  }
}
profiledWall /= steps;
rig.dispose();

const stepMs = median(plain);
const ranked = [...rows.values()].sort((a, b) => b.ms - a.ms);
const kernelMs = ranked.reduce((a, r) => a + r.ms, 0);
if (args.json) {
  console.log(JSON.stringify({
    model: args.model,
    ds: Number(args.ds),
    backend: args.backend,
    batch,
    step_ms: stepMs,
    profiled_step_ms: profiledWall,
    kernel_ms: kernelMs,
    kernels: ranked.map((r) => ({
      name: r.name,
      ms: r.ms,
      calls: r.calls,
      share: r.ms / profiledWall,
      shapes: Object.fromEntries(r.shapes),
    })),
  }));
} else {
  console.log(
    `# ${args.model} ds${args.ds} batch ${batch} on ${JSON.stringify(await describeBackend())}, load ${
      Deno.loadavg()[0].toFixed(2)
    }`,
  );
  console.log(
    `# step ${stepMs.toFixed(1)} ms unprofiled (median of ${steps}); profiled ${
      profiledWall.toFixed(1)
    } ms, of which kernels ${kernelMs.toFixed(1)} ms, outside kernels ${
      (profiledWall - kernelMs).toFixed(1)
    } ms`,
  );
  console.log("kernel                          ms/step  share  calls  costliest input shapes (ms)");
  for (const r of ranked.slice(0, top)) {
    const shapes = [...r.shapes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2)
      .map(([k, v]) => `${k} ${v.toFixed(1)}`).join("; ");
    console.log(
      `${r.name.padEnd(30)} ${r.ms.toFixed(1).padStart(8)} ${
        (100 * r.ms / profiledWall).toFixed(1).padStart(5)
      }% ${r.calls.toFixed(0).padStart(6)}  ${shapes}`,
    );
  }
}

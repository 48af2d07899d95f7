/**
 * A/B of the fused clip + RMSprop update (src/train/fused_update.ts) against tfjs's unfused path,
 * alternated in one process (the machine may be shared: compare medians of the same run only):
 * the update alone on the model's variables, `trainStep`, and `DataParallelStep` with 2 shards.
 *
 * deno run -A bench/fused_update_ab.ts [--model rnn-spn] [--ds 3] [--batch 100] [--reps 8]
 *   [--workers 2] [--skip-parallel]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import { tf } from "../src/tf.ts";
import { registerKernels } from "../src/kernels/register.ts";
import { selectBackend } from "../src/backend.ts";
import { fusedUpdate } from "../src/train/fused_update.ts";
import { applyClipped, trainableVariables } from "../src/train/step.ts";
import { DataParallelStep } from "../src/train/data_parallel.ts";
import { median } from "./_timing.ts";
import { makeRig, type ModelName } from "./train_step_timer.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "rnn-spn" },
    ds: { type: "string", default: "3" },
    batch: { type: "string", default: "100" },
    reps: { type: "string", default: "8" },
    workers: { type: "string", default: "2" },
    "skip-parallel": { type: "boolean", default: false },
  },
});
const reps = Number(args.reps);

registerKernels();
await selectBackend("wasm");
const rig = makeRig(args.model as ModelName, Number(args.ds), Number(args.batch));
const vars = trainableVariables(rig.model);
const params = vars.reduce((n, v) => n + v.size, 0);

/**
 * Runs `fn` with the fused update on (B) and off (A), alternating; medians in ms. Each timed call
 * follows an untimed one in the same mode: the first fused update after an unfused one copies the
 * state in afresh (see `fused_update.ts`), which steady training never does.
 */
async function ab(reps: number, fn: () => Promise<void> | void): Promise<Timing> {
  const wall: [number[], number[]] = [[], []], cpu: [number[], number[]] = [[], []];
  for (let r = 0; r < reps; r++) {
    for (const fused of r % 2 ? [true, false] : [false, true]) {
      fusedUpdate.enabled = fused;
      await fn();
      const c0 = cpuUsage();
      const t0 = performance.now();
      await fn();
      wall[+fused].push(performance.now() - t0);
      const c = cpuUsage(c0);
      cpu[+fused].push((c.user + c.system) / 1000);
    }
  }
  fusedUpdate.enabled = true;
  return { wall: [median(wall[0]), median(wall[1])], cpu: [median(cpu[0]), median(cpu[1])] };
}

/** Medians [tfjs, fused] in ms: wall time, and the CPU time of this process (all its threads). */
interface Timing {
  wall: [number, number];
  cpu: [number, number];
}

function report(what: string, { wall, cpu }: Timing): void {
  const f = ([a, b]: [number, number]) =>
    `tfjs ${a.toFixed(1).padStart(7)}  fused ${b.toFixed(1).padStart(7)}  saved ${
      (a - b).toFixed(1).padStart(6)
    } (×${(a / b).toFixed(2)})`;
  console.log(`${what.padEnd(30)} wall ms: ${f(wall)}   cpu ms: ${f(cpu)}`);
}

console.log(
  `${args.model} ds ${args.ds} batch ${args.batch}: ${vars.length} variables, ${params} parameters; ` +
    `load ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`,
);

// The update alone: gradients of the real shapes, large enough that both clips are active.
const grads = vars.map((v, i) => tf.randomUniform(v.shape, -3, 3, "float32", i));
report("clip + RMSprop update", await ab(reps * 3, () => applyClipped(rig.optimizer, vars, grads)));
tf.dispose(grads);

await rig.step();
report("trainStep", await ab(reps, async () => void await rig.step()));

if (!args["skip-parallel"]) {
  const workers = Number(args.workers);
  const dp = await DataParallelStep.create(rig.model, { workers });
  const step = async () => {
    const loss = await dp.step(rig.optimizer, rig.images, rig.labels);
    await loss.data();
    loss.dispose();
  };
  await step();
  report(`DataParallelStep (${workers} shards)`, await ab(reps, step));
  dp.dispose();
}
rig.dispose();
console.log(`load after: ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`);

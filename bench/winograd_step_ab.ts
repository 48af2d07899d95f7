/**
 * A training step with and without Winograd convolutions (`winogradSettings.enabled`), alternated
 * in one process so both see the same machine load: median step time of each.
 *
 *   deno run -A bench/winograd_step_ab.ts [--model spn] [--ds 3] [--batch 100] [--rounds 5]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { registerKernels } from "../src/kernels/register.ts";
import { selectBackend } from "../src/backend.ts";
import { winogradSettings } from "../src/kernels/wasm/winograd.ts";
import { makeRig, median, type ModelName, timeSteps } from "./train_step_timer.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "spn" },
    ds: { type: "string", default: "3" },
    batch: { type: "string", default: "100" },
    rounds: { type: "string", default: "5" },
  },
});
registerKernels();
await selectBackend("wasm");
const rig = makeRig(args.model as ModelName, Number(args.ds), Number(args.batch));
const times = { direct: [] as number[], winograd: [] as number[] };
for (let round = -1; round < Number(args.rounds); round++) {
  for (const path of ["direct", "winograd"] as const) {
    winogradSettings.enabled = path === "winograd";
    const [ms] = await timeSteps(rig, 1);
    // Round −1 warms both paths up.
    if (round >= 0) times[path].push(ms);
  }
}
winogradSettings.enabled = true;
const [d, w] = [median(times.direct), median(times.winograd)];
console.log(
  `${args.model} ds${args.ds} batch ${args.batch}: direct ${d.toFixed(0)} ms, Winograd ${w.toFixed(0)} ms ` +
    `(${(d / w).toFixed(2)}×), load ${Deno.loadavg().map((l) => l.toFixed(2))}`,
);

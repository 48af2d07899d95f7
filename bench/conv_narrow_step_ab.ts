/**
 * A training step with and without the narrow-input convolution kernels
 * (`narrowConvSettings.enabled`, `src/kernels/wasm/conv_narrow.ts`), alternated in one process so
 * both see the same machine load: median step time of each.
 *
 *   deno run -A bench/conv_narrow_step_ab.ts [--model rnn-spn] [--ds 3] [--batch 100] [--rounds 5]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { registerKernels } from "../src/kernels/register.ts";
import { selectBackend } from "../src/backend.ts";
import { narrowConvSettings } from "../src/kernels/wasm/conv_narrow.ts";
import { makeRig, median, type ModelName, timeSteps } from "./train_step_timer.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "rnn-spn" },
    ds: { type: "string", default: "3" },
    batch: { type: "string", default: "100" },
    rounds: { type: "string", default: "5" },
  },
});
registerKernels();
await selectBackend("wasm");
const rig = makeRig(args.model as ModelName, Number(args.ds), Number(args.batch));
const times = { old: [] as number[], narrow: [] as number[] };
for (let round = -1; round < Number(args.rounds); round++) {
  for (const path of ["old", "narrow"] as const) {
    narrowConvSettings.enabled = path === "narrow";
    const [ms] = await timeSteps(rig, 1);
    // Round −1 warms both paths up.
    if (round >= 0) times[path].push(ms);
  }
}
narrowConvSettings.enabled = true;
const [d, w] = [median(times.old), median(times.narrow)];
console.log(
  `${args.model} ds${args.ds} batch ${args.batch}: old ${d.toFixed(0)} ms, narrow convolutions ${
    w.toFixed(0)
  } ms ` +
    `(${(d / w).toFixed(2)}×), load ${Deno.loadavg().map((l) => l.toFixed(2))}`,
);

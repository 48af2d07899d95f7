/**
 * A training step with and without one of the library's wasm fast paths, alternated in one
 * process so both see the same machine load: the median step time of each.
 *
 *   deno run -A bench/step_ab.ts --switch winograd|narrow|gemm|gemm-ta|direct|fused-update|fma
 *     [--model spn] [--ds 3] [--batch 100] [--rounds 5]
 *
 * - `winograd`: Winograd convolutions (`src/kernels/wasm/winograd.ts`) against the direct kernels.
 * - `narrow`: the one-input-channel convolutions (`src/kernels/wasm/conv_narrow.ts`).
 * - `gemm`: `BatchMatMul`'s own GEMM for fresh weights (`src/kernels/wasm/batch_mat_mul.ts`).
 * - `gemm-ta`: its route for a dense layer's ∂W (`aᵀ·b`, long reductions) through our GEMM.
 * - `direct`: every kernel that works on tfjs's heap (`src/kernels/wasm/direct.ts`) against its
 *   copying fallback.
 * - `fused-update`: the fused clip + RMSprop update (`src/train/fused_update.ts`).
 * - `fma`: the relaxed-SIMD fused multiply-add kernels (`src/kernels/wasm/fma.ts`) against SIMD128.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { registerKernels } from "../src/kernels/register.ts";
import { selectBackend } from "../src/backend.ts";
import { winogradSettings } from "../src/kernels/wasm/winograd.ts";
import { narrowConvSettings } from "../src/kernels/wasm/conv_narrow.ts";
import { ownGemm } from "../src/kernels/wasm/batch_mat_mul.ts";
import { setDirectKernelsEnabled } from "../src/kernels/wasm/direct.ts";
import { fusedUpdate } from "../src/train/fused_update.ts";
import { setFmaEnabled } from "../src/kernels/wasm/fma.ts";
import { median } from "./_timing.ts";
import { makeRig, type ModelName, timeSteps } from "./train_step_timer.ts";

/** The library's threshold for the ∂W route, restored when `gemm-ta` is on. */
const TRANSPOSED_A_MIN_K = ownGemm.transposedAMinK;

/** Each switch turns its fast path on or off. */
const SWITCHES: Record<string, (on: boolean) => void> = {
  winograd: (on) => winogradSettings.enabled = on,
  narrow: (on) => narrowConvSettings.enabled = on,
  gemm: (on) => ownGemm.enabled = on,
  "gemm-ta": (on) => ownGemm.transposedAMinK = on ? TRANSPOSED_A_MIN_K : Infinity,
  direct: (on) => setDirectKernelsEnabled(on),
  "fused-update": (on) => fusedUpdate.enabled = on,
  fma: (on) => setFmaEnabled(on),
};

const { values: args } = parseArgs({
  options: {
    switch: { type: "string" },
    model: { type: "string", default: "spn" },
    ds: { type: "string", default: "3" },
    batch: { type: "string", default: "100" },
    rounds: { type: "string", default: "5" },
  },
});
const toggle = SWITCHES[args.switch ?? ""];
if (!toggle) {
  throw new Error(`--switch must be one of ${Object.keys(SWITCHES).join(", ")}; got ${args.switch}`);
}
registerKernels();
await selectBackend("wasm");
const rig = makeRig(args.model as ModelName, Number(args.ds), Number(args.batch));
const times = { off: [] as number[], on: [] as number[] };
for (let round = -1; round < Number(args.rounds); round++) {
  for (const path of ["off", "on"] as const) {
    toggle(path === "on");
    const [ms] = await timeSteps(rig, 1);
    // Round −1 warms both paths up.
    if (round >= 0) times[path].push(ms);
  }
}
toggle(true);
rig.dispose();
const [off, on] = [median(times.off), median(times.on)];
console.log(
  `${args.model} ds${args.ds} batch ${args.batch}: ${args.switch} off ${off.toFixed(0)} ms, on ${
    on.toFixed(0)
  } ms ` +
    `(${(off / on).toFixed(2)}×), load ${Deno.loadavg().map((l) => l.toFixed(2))}`,
);

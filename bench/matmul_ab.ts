/**
 * A/B of the wasm `BatchMatMul` own-GEMM routes (`ownGemm` in src/kernels/wasm/batch_mat_mul.ts)
 * against the previous routing (XNNPACK; tfjs's loop for batches), alternated in one process (the
 * machine may be shared: compare medians of the same run only). Products of the training steps'
 * shapes with a fresh b each call (as after an optimizer step), then whole training steps.
 *
 * deno run -A bench/matmul_ab.ts [--reps 7] [--models rnn-spn:3:100,spn:3:100,cnn:1:50] [--steps 5]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { tf } from "../src/tf.ts";
import { registerKernels } from "../src/kernels/register.ts";
import { selectBackend } from "../src/backend.ts";
import { ownGemm } from "../src/kernels/wasm/batch_mat_mul.ts";
import { median } from "./_timing.ts";
import { makeRig, type ModelName } from "./train_step_timer.ts";

const { values: args } = parseArgs({
  options: {
    reps: { type: "string", default: "7" },
    models: { type: "string", default: "rnn-spn:3:100,spn:3:100,cnn:1:50" },
    steps: { type: "string", default: "5" },
  },
});
const reps = Number(args.reps);

registerKernels();
await selectBackend("wasm");

/** Medians (ms) of `fn` with the own GEMM off (A) and on (B), alternating the order each rep. */
async function ab(reps: number, fn: () => Promise<number>): Promise<[number, number]> {
  const t: [number[], number[]] = [[], []];
  for (let r = 0; r < reps; r++) {
    for (const on of r % 2 ? [true, false] : [false, true]) {
      ownGemm.enabled = on;
      t[+on].push(await fn());
    }
  }
  ownGemm.enabled = true;
  return [median(t[0]), median(t[1])];
}

// [m, k, n] of a·b, batch, uses of each fresh b: the forward products of the models' dense
// layers (the GRU's recurrent weights serve 2 of its 3 steps, or more in longer sequences).
const products: [number, number, number, number, number][] = [
  [100, 1620, 768, 1, 1],
  [100, 256, 512, 1, 2],
  [100, 256, 256, 1, 2],
  [100, 256, 512, 1, 6],
  [300, 400, 512, 1, 1],
  [50, 42320, 400, 1, 1],
  [100, 6, 3, 4, 1],
];
console.log("a·b, fresh b, used `uses` times: previous | own-GEMM routes (ms for all uses, median)");
for (const [m, k, n, batch, uses] of products) {
  const lead = batch > 1 ? [batch] : [];
  const a = tf.randomUniform([...lead, m, k]), w = tf.randomUniform([...lead, k, n]);
  const [prev, own] = await ab(reps, async () => {
    const b = tf.mul(w, 1);
    await b.data();
    const t0 = performance.now();
    for (let u = 0; u < uses; u++) {
      const y = tf.matMul(a, b);
      await y.data();
      y.dispose();
    }
    const ms = performance.now() - t0;
    b.dispose();
    return ms;
  });
  const gf = (ms: number) => (2 * uses * batch * m * k * n / ms / 1e6).toFixed(1);
  console.log(
    `  [${[...lead, m, k]}]·[${[...lead, k, n]}] ×${uses}  ${prev.toFixed(2)} (${gf(prev)} GFLOP/s) | ` +
      `${own.toFixed(2)} (${gf(own)} GFLOP/s)  ×${(prev / own).toFixed(2)}`,
  );
  tf.dispose([a, w]);
}

console.log("training step: previous | own-GEMM routes (ms, median)");
for (const spec of args.models.split(",").filter(Boolean)) {
  const [name, ds, batch] = spec.split(":");
  const rig = makeRig(name as ModelName, Number(ds), Number(batch));
  for (let i = 0; i < 2; i++) await rig.step();
  const [prev, own] = await ab(Number(args.steps), async () => {
    await rig.step(); // the first step after a switch re-packs / re-routes: untimed
    const t0 = performance.now();
    await rig.step();
    return performance.now() - t0;
  });
  console.log(
    `  ${name} ds ${ds} batch ${batch}: ${prev.toFixed(1)} | ${own.toFixed(1)}  ×${(prev / own).toFixed(2)}`,
  );
  rig.dispose();
}

/**
 * Would data-parallel training (one tfjs-wasm instance per core, in Workers) pay on this machine?
 * Runs the paper's classifier CNN with 1 worker on the whole batch, then k workers on 1/k of it
 * each, and prints samples/s. The workers skip the gradient exchange, so k workers' rate is an
 * upper bound on what `src/train` could gain; run it on a quiet machine.
 *
 *   deno run -A bench/data_parallel_probe.ts [--batch 120] [--steps 5] [--workers 2]
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    batch: { type: "string", default: "120" },
    steps: { type: "string", default: "5" },
    workers: { type: "string", default: "2" },
  },
});
const batch = Number(values.batch);
const steps = Number(values.steps);
const most = Number(values.workers);

function send(w: Worker, message: unknown): Promise<unknown> {
  return new Promise((resolve) => {
    w.onmessage = (e) => resolve(e.data);
    w.postMessage(message);
  });
}

for (const k of [1, most, 1, most]) {
  const workers = Array.from(
    { length: k },
    () => new Worker(new URL("./data_parallel_probe_worker.ts", import.meta.url), { type: "module" }),
  );
  await Promise.all(workers.map((w) => send(w, { batch: Math.ceil(batch / k), steps })));
  const start = performance.now();
  await Promise.all(workers.map((w) => send(w, "go")));
  const wall = performance.now() - start;
  console.log(
    `${k} worker(s): ${(steps * batch / wall * 1000).toFixed(1)} samples/s (${wall.toFixed(0)} ms)`,
  );
  workers.forEach((w) => w.terminate());
}

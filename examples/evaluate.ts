/**
 * Scores a saved model on a split of cluttered MNIST (the test split by default).
 *
 *   MNIST_DIR=../shared/mnist deno run -A examples/evaluate.ts runs/rnn-spn-…          # a run dir: uses best/
 *   deno run -A examples/evaluate.ts runs/rnn-spn-…/checkpoints/epoch-0003 --split valid
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readFile, stat } from "node:fs/promises";
import {
  type BackendName,
  ClutteredMnist,
  describeBackend,
  evaluate,
  loadMnist,
  loadModel,
  selectBackend,
  type Split,
} from "../mod.ts";

const HELP = `Usage: deno run -A examples/evaluate.ts DIR [flags]

DIR is a model directory (model.json + weights.bin: a run's best/ or one of its checkpoints/epoch-NNNN) or a
run directory (its best/ is used, and its run.json gives the data seed and sizes).

  --split train|valid|test  which split (default test)
  --size N                  score the first N sequences only (default: the whole split)
  --seed S                  data-set seed (default: the run's, else 1)
  --batch B                 batch size (default 100)
  --backend wasm|cpu|webgpu (default wasm)
  --help                    this text
`;

const { values: args, positionals } = parseArgs({
  options: {
    split: { type: "string", default: "test" },
    size: { type: "string" },
    seed: { type: "string" },
    batch: { type: "string", default: "100" },
    backend: { type: "string", default: "wasm" },
    help: { type: "boolean", short: "h" },
  },
  allowPositionals: true,
  strict: true,
});
if (args.help || positionals.length !== 1) {
  console.log(HELP);
  Deno.exit(args.help ? 0 : 2);
}
const split = args.split as Split;
if (!["train", "valid", "test"].includes(split)) {
  console.error(`--split must be train, valid or test; got ${JSON.stringify(args.split)}`);
  Deno.exit(2);
}

async function exists(path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false);
}

let dir = positionals[0].replace(/\/$/, "");
let data: { seed: number; sizes: { train: number; valid: number; test: number } } = {
  seed: 1,
  sizes: { train: 60000, valid: 10000, test: 10000 },
};
if (!(await exists(`${dir}/model.json`)) && (await exists(`${dir}/best/model.json`))) {
  if (await exists(`${dir}/run.json`)) data = JSON.parse(await readFile(`${dir}/run.json`, "utf8")).data;
  dir = `${dir}/best`;
}
if (args.seed !== undefined) data.seed = Number(args.seed);

await selectBackend(args.backend as BackendName);
console.log(`backend: ${JSON.stringify(await describeBackend())}`);
const model = await loadModel(dir);
const ds = new ClutteredMnist(await loadMnist(), data);
const limit = args.size === undefined ? undefined : Number(args.size);
const t0 = performance.now();
const m = await evaluate(model, ds, split, { batchSize: Number(args.batch), limit });
const n = Math.min(limit ?? Infinity, ds.size(split));
const seconds = (performance.now() - t0) / 1000;
console.log(
  `${model.kind} from ${dir} on ${split} (${n} sequences, seed ${data.seed}): loss ${m.loss.toFixed(4)}, ` +
    `per-digit error ${(100 * m.digitError).toFixed(2)}%, sequence error ${
      (100 * m.sequenceError).toFixed(2)
    }% ` +
    `(${(n / seconds).toFixed(0)} sequences/s)`,
);
model.dispose();

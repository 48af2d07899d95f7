/**
 * Scores a saved model on a split of cluttered MNIST (the test split by default).
 *
 *   MNIST_DIR=../shared/mnist deno run -A examples/evaluate.ts runs/rnn-spn-…          # a run dir: uses best/
 *   deno run -A examples/evaluate.ts runs/rnn-spn-…/checkpoints/epoch-0003 --split valid
 *   deno run -A examples/evaluate.ts pretrained --size 1000                          # loadPretrained()
 *
 * Flag values and the directory are checked before anything is loaded: a mistake is one line naming it,
 * exit code 2.
 *
 * @module
 */
import { readFile, stat } from "node:fs/promises";
import {
  type BackendName,
  ClutteredMnist,
  describeBackend,
  evaluate,
  loadMnist,
  loadModel,
  loadPretrained,
  PRETRAINED_URL,
  selectBackend,
  type Split,
} from "../mod.ts";
import { choiceFlag, intFlag, parseCli, runCli, UsageError } from "./_cli.ts";

const HELP = `Usage: deno run -A examples/evaluate.ts DIR [flags]

DIR is a model directory (model.json + weights.bin: a run's best/ or one of its checkpoints/epoch-NNNN) or a
run directory (its best/ is used, and its run.json gives the data seed and sizes), or \`pretrained\`: the
model of loadPretrained(), scored on the data its reproduction run used.

  --split train|valid|test  which split (default test)
  --size N                  score the first N sequences only (default: the whole split)
  --seed S                  data-set seed (default: the run's, else 1)
  --batch B                 batch size (default 100)
  --backend wasm|cpu|webgpu (default wasm)
  --help                    this text
`;

const FLAGS = {
  split: { type: "string" },
  size: { type: "string" },
  seed: { type: "string" },
  batch: { type: "string" },
  backend: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

async function exists(path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false);
}

type DataSetup = { seed: number; sizes: { train: number; valid: number; test: number } };

/** The data setup of a run's run.json, checked (a truncated or foreign file is a one-line error). */
async function runData(path: string): Promise<DataSetup> {
  let data: DataSetup;
  try {
    data = JSON.parse(await readFile(path, "utf8")).data;
  } catch (err) {
    throw new UsageError(`${path} is not a readable run.json (truncated?): ${(err as Error).message}`);
  }
  const pos = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;
  if (
    !Number.isInteger(data?.seed) || !pos(data.sizes?.train) || !pos(data.sizes.valid) ||
    !pos(data.sizes.test)
  ) {
    throw new UsageError(`${path} has no valid data.seed / data.sizes: not a run.json of examples/train.ts`);
  }
  return data;
}

await runCli("evaluate.ts", async () => {
  const { values: args, positionals } = parseCli(Deno.args, FLAGS, true);
  if (args.help) {
    console.log(HELP);
    return;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      `expected one model or run directory DIR; got ${positionals.length} (--help for usage)`,
    );
  }
  const split = choiceFlag("split", (args.split as string | undefined) ?? "test", ["train", "valid", "test"]);
  const limit = args.size === undefined ? undefined : intFlag("size", args.size as string, { min: 1 });
  const seed = args.seed === undefined
    ? undefined
    : intFlag("seed", args.seed as string, { min: 0, max: 2 ** 32 - 1 });
  const batchSize = intFlag("batch", (args.batch as string | undefined) ?? "100", { min: 1 });
  const backend = choiceFlag("backend", (args.backend as string | undefined) ?? "wasm", [
    "wasm",
    "cpu",
    "webgpu",
  ] as BackendName[]);

  let dir = positionals[0].replace(/(.)\/$/, "$1");
  let data: DataSetup = { seed: 1, sizes: { train: 60000, valid: 10000, test: 10000 } };
  const pretrained = dir === "pretrained";
  if (pretrained) {
    const provenance = new URL("../rnn-spn-ds3.json", PRETRAINED_URL); // beside the weights' folder
    data = JSON.parse(await readFile(provenance, "utf8")).data;
  } else if (!(await exists(`${dir}/model.json`))) {
    if (!(await exists(`${dir}/best/model.json`))) {
      throw new UsageError(
        `${dir} is neither a model directory (no model.json) nor a run directory (no best/model.json)`,
      );
    }
    if (await exists(`${dir}/run.json`)) data = await runData(`${dir}/run.json`);
    dir = `${dir}/best`;
  }
  if (seed !== undefined) data.seed = seed;

  await selectBackend(backend);
  console.log(`backend: ${JSON.stringify(await describeBackend())}`);
  const model = pretrained ? await loadPretrained() : await loadModel(dir, { accept: "rnnspn" });
  const ds = new ClutteredMnist(await loadMnist(), data);
  const t0 = performance.now();
  const m = await evaluate(model, ds, split as Split, { batchSize, limit });
  const n = Math.min(limit ?? Infinity, ds.size(split as Split));
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `${model.kind} from ${dir} on ${split} (${n} sequences, seed ${data.seed}): loss ${m.loss.toFixed(4)}, ` +
      `per-digit error ${(100 * m.digitError).toFixed(2)}%, sequence error ${
        (100 * m.sequenceError).toFixed(2)
      }% ` +
      `(${(n / seconds).toFixed(0)} sequences/s)`,
  );
  model.dispose();
});

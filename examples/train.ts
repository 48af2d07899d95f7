/**
 * Trains one of the paper's models on cluttered MNIST sequences.
 *
 *   MNIST_DIR=../shared/mnist deno task train                       # one epoch of RNN-SPN (the paper's model)
 *   deno run -A examples/train.ts --model spn --epochs 300          # the full recipe for the CNN-SPN
 *   deno run -A examples/train.ts --resume runs/rnn-spn-…           # continue a stopped run
 *
 * `--help` lists every flag. Writes `run.json`, `metrics.jsonl`, `checkpoints/` and `best/` into `--out`,
 * holding `run.lock` meanwhile. Every flag value is checked before MNIST is loaded or anything is written:
 * a mistake is one line naming the flag, exit code 2.
 *
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { hostname, totalmem } from "node:os";
import process from "node:process";
import {
  type BackendName,
  ClutteredMnist,
  createModel,
  describeBackend,
  loadMnist,
  MODEL_KINDS,
  type ModelKind,
  type OptimizerName,
  type ScheduleName,
  selectBackend,
  spatialTransform,
  train,
} from "../mod.ts";
import * as tf from "@tensorflow/tfjs";
import { choiceFlag, intFlag, numberFlag, parseCli, runCli, UsageError } from "./_cli.ts";

const HELP = `Usage: deno run -A examples/train.ts [flags]

Trains RNN-SPN / CNN-SPN / CNN on cluttered MNIST (Sønderby et al. 2015). Defaults: one epoch of the paper's
RNN-SPN with the paper's recipe (RMSprop lr 5e-4, batch 100, clip ±1 then norm 5). MNIST comes from MNIST_DIR.

  --model rnn-spn|spn|cnn   which model (default rnn-spn)
  --downsample F            glimpse / transformed-image downsampling, 100 → floor(100/F) (default 3)
  --steps K                 digits per sequence (default 3)
  --epochs N                epochs to train (default 1; the paper: 300)
  --batch B                 batch size (default 100)
  --micro-batch M           compute each batch's gradient in slices of M (same result, less memory; default:
                            50 for --model cnn on wasm, whose 2 GB heap the CNN outgrows at batch 100, else off)
  --workers N               data-parallel steps over N tfjs instances (this thread + N-1 Workers, one per
                            core; the same update, summed in a fixed order; default 1)
  --lr X                    learning rate (default 5e-4)
  --optimizer rmsprop|adam  (default rmsprop: rho 0.9, eps 1e-6)
  --schedule S              paper|step|cosine|constant (default paper: the authors' loop, lr / 1.5 at
                            epochs 33, 45, 57, …; step: lr / 1.5 every 10 epochs after epoch 30)
  --patience N              early stopping on validation per-digit error (default 50)
  --dropout P               dropout before the classifier's dense layers (default 0)
  --backend wasm|cpu|webgpu (default: wasm when it can train this model here, else cpu)
  --train-size N            training sequences (default 60000); --valid-size, --test-size likewise (10000)
  --train-eval-size N       training sequences scored per epoch (default 10000)
  --seed S                  seed of the data set and of the weights (default 1)
  --out DIR                 run directory (default runs/<model>-<date>); an existing run there is refused
                            unless --overwrite
  --overwrite               start over in --out DIR, removing the run it holds
  --resume DIR              continue the run in DIR from its newest checkpoint (its run.json gives the setup;
                            only --epochs, --backend, --workers and --micro-batch may be given with it)
  --help                    this text
`;

const FLAGS = {
  model: { type: "string" },
  downsample: { type: "string" },
  steps: { type: "string" },
  epochs: { type: "string" },
  batch: { type: "string" },
  "micro-batch": { type: "string" },
  workers: { type: "string" },
  lr: { type: "string" },
  optimizer: { type: "string" },
  schedule: { type: "string" },
  patience: { type: "string" },
  dropout: { type: "string" },
  backend: { type: "string" },
  "train-size": { type: "string" },
  "valid-size": { type: "string" },
  "test-size": { type: "string" },
  "train-eval-size": { type: "string" },
  seed: { type: "string" },
  out: { type: "string" },
  overwrite: { type: "boolean" },
  resume: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Flags that `--resume` may change; the others are fixed by the run's run.json. */
const RESUMABLE = ["epochs", "backend", "workers", "micro-batch", "resume", "help"];
const BACKENDS: readonly BackendName[] = ["wasm", "cpu", "webgpu"];

/** Everything needed to rebuild a run (saved as run.json; `--resume` reads it back). */
interface RunSetup {
  model: ModelKind;
  modelConfig: Record<string, number>;
  data: { seed: number; sizes: { train: number; valid: number; test: number } };
  train: {
    epochs: number;
    batchSize: number;
    learningRate: number;
    optimizer: OptimizerName;
    schedule: ScheduleName;
    patience: number;
    trainEvalSize: number;
  };
}

/**
 * Fails early (before the backend and MNIST) when a live trainer holds `dir`'s run.lock; train()
 * takes the lock itself and is the authority, this only saves the wait.
 */
async function checkNotHeld(dir: string): Promise<void> {
  let info: { pid?: unknown; host?: unknown; started?: unknown };
  try {
    info = JSON.parse(await readFile(`${dir}/run.lock`, "utf8"));
  } catch {
    return; // none, or not ours: train() says which
  }
  if (typeof info.pid !== "number" || typeof info.host !== "string") return;
  if (info.host === hostname()) {
    try {
      process.kill(info.pid, 0);
    } catch (err) {
      if ((err as { code?: string }).code === "ESRCH") return; // stale: train() takes it over
    }
  }
  throw new Error(
    `${dir} is in use by process ${info.pid} on host ${info.host} (since ${info.started}): ` +
      `lock file ${dir}/run.lock`,
  );
}

async function kindOf(path: string): Promise<"none" | "dir" | "file"> {
  try {
    return (await stat(path)).isDirectory() ? "dir" : "file";
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return "none";
    throw new UsageError(`cannot use ${path}: ${(err as Error).message}`);
  }
}

/** run.json of `dir`, checked field by field (a truncated or foreign file is a one-line error). */
async function readSetup(dir: string): Promise<RunSetup> {
  const kind = await kindOf(dir);
  if (kind !== "dir") {
    throw new UsageError(`--resume ${dir}: ${kind === "none" ? "no such directory" : "not a directory"}`);
  }
  const path = `${dir}/run.json`;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(
      `--resume ${dir}: cannot read ${path} (${(err as Error).message}): not a run directory`,
    );
  }
  let raw: RunSetup;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(
      `--resume ${dir}: ${path} is not valid JSON (truncated?): ${(err as Error).message}`,
    );
  }
  const pos = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;
  const problems = [
    !MODEL_KINDS.includes(raw?.model) && "model",
    (typeof raw?.modelConfig !== "object" || raw.modelConfig === null) && "modelConfig",
    !Number.isInteger(raw?.data?.seed) && "data.seed",
    !(pos(raw?.data?.sizes?.train) && pos(raw.data.sizes.valid) && pos(raw.data.sizes.test)) && "data.sizes",
    !(pos(raw?.train?.epochs) && pos(raw.train.batchSize) && pos(raw.train.patience)) &&
    "train.epochs/batchSize/patience",
    !(raw?.train?.learningRate > 0) && "train.learningRate",
    !["rmsprop", "adam"].includes(raw?.train?.optimizer) && "train.optimizer",
    !["paper", "step", "cosine", "constant"].includes(raw?.train?.schedule) && "train.schedule",
  ].filter(Boolean);
  if (problems.length > 0) {
    throw new UsageError(
      `--resume ${dir}: ${path} is not a run.json of this script (bad ${problems.join(", ")})`,
    );
  }
  return raw;
}

/** The largest value a size flag takes: sample indices are 32-bit. */
const MAX_SIZE = 2 ** 32 - 1;
/** The most glimpses per sequence (the models' limit). */
const MAX_STEPS = 64;

/**
 * Refuses sizes whose arrays would not fit in memory, before anything is written: each epoch holds the
 * order of its split (4 bytes a sequence) and each batch its images (100×100 float32 per sequence);
 * either past a quarter of this machine's memory is refused, naming the flag (`fromRunJson`: the field
 * of run.json).
 */
function checkMemory(setup: RunSetup, fromRunJson?: string): void {
  const budget = totalmem() / 4;
  const gb = (bytes: number) => `${(bytes / 1e9).toPrecision(3)} GB`;
  const uses: [string, string, number, number][] = [
    ["train-size", "data.sizes.train", setup.data.sizes.train, 4],
    ["valid-size", "data.sizes.valid", setup.data.sizes.valid, 4],
    ["test-size", "data.sizes.test", setup.data.sizes.test, 4],
    ["batch", "train.batchSize", setup.train.batchSize, 100 * 100 * 4 * 2],
  ];
  for (const [flag, field, value, perItem] of uses) {
    const name = fromRunJson ? `${fromRunJson}: ${field}` : `--${flag}`;
    if (value > MAX_SIZE) throw new UsageError(`${name} must be <= ${MAX_SIZE}; got ${value}`);
    if (value * perItem > budget) {
      throw new UsageError(
        `${name} ${value} needs about ${gb(value * perItem)} of memory, more than a quarter of this ` +
          `machine's ${gb(totalmem())}; nothing was written`,
      );
    }
  }
}

/** The run's setup and directory from the flags; throws a UsageError before anything is written. */
async function plan(args: Record<string, string | boolean | undefined>) {
  const str = (name: string, fallback: string) => (args[name] as string | undefined) ?? fallback;
  const epochs = args.epochs === undefined ? undefined : intFlag("epochs", args.epochs as string, { min: 1 });
  const workers = intFlag("workers", str("workers", "1"), { min: 1, max: 256 });
  const microBatch = args["micro-batch"] === undefined
    ? undefined
    : intFlag("micro-batch", args["micro-batch"] as string, { min: 1 });
  if (workers > 1 && microBatch !== undefined) {
    throw new UsageError(
      `--workers ${workers} does not combine with --micro-batch (each worker holds a shard)`,
    );
  }
  const backend = args.backend === undefined
    ? undefined
    : choiceFlag("backend", args.backend as string, BACKENDS);

  if (args.resume !== undefined) {
    const outDir = (args.resume as string).replace(/(.)\/$/, "$1");
    const fixed = Object.keys(args).filter((k) => args[k] !== undefined && !RESUMABLE.includes(k));
    const setup = await readSetup(outDir);
    await checkNotHeld(outDir);
    if (fixed.length > 0) {
      throw new UsageError(
        `${
          fixed.map((k) => `--${k}`).join(", ")
        } cannot be given with --resume: the run in ${outDir} fixed ` +
          `its setup (run.json); only --epochs, --backend, --workers and --micro-batch may change`,
      );
    }
    checkMemory(setup, `--resume ${outDir}: ${outDir}/run.json`);
    // run.json as written, compared with the checkpoint's record of it by train(); --epochs changes
    // only this process's target.
    const runInfo = structuredClone(setup) as unknown as Record<string, unknown>;
    if (epochs !== undefined) setup.train.epochs = epochs;
    return { setup, runInfo, outDir, resume: true, overwrite: false, workers, microBatch, backend };
  }

  const model = choiceFlag("model", str("model", "rnn-spn"), MODEL_KINDS);
  const seed = intFlag("seed", str("seed", "1"), { min: 0, max: 2 ** 32 - 1 });
  const steps = intFlag("steps", str("steps", "3"), { min: 1, max: MAX_STEPS });
  const modelConfig: Record<string, number> = {
    seed,
    dropout: numberFlag("dropout", str("dropout", "0"), { min: 0, below: 1 }, false),
    ...(model === "rnn-spn" ? { steps } : { digits: steps }),
    ...(model === "cnn" ? {} : {
      downsampleFactor: numberFlag("downsample", str("downsample", "3"), { above: 0, max: 100 }, false),
    }),
  };
  const setup: RunSetup = {
    model,
    modelConfig,
    data: {
      seed,
      sizes: {
        train: intFlag("train-size", str("train-size", "60000"), { min: 1 }),
        valid: intFlag("valid-size", str("valid-size", "10000"), { min: 1 }),
        test: intFlag("test-size", str("test-size", "10000"), { min: 1 }),
      },
    },
    train: {
      epochs: epochs ?? 1,
      batchSize: intFlag("batch", str("batch", "100"), { min: 1 }),
      learningRate: numberFlag("lr", str("lr", "5e-4"), { above: 0 }, false),
      optimizer: choiceFlag("optimizer", str("optimizer", "rmsprop"), ["rmsprop", "adam"]),
      schedule: choiceFlag("schedule", str("schedule", "paper"), ["paper", "step", "cosine", "constant"]),
      patience: intFlag("patience", str("patience", "50"), { min: 1 }),
      trainEvalSize: intFlag("train-eval-size", str("train-eval-size", "10000"), { min: 1 }),
    },
  };
  checkMemory(setup);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const outDir = ((args.out as string | undefined) ?? `runs/${model}-${stamp}`).replace(/(.)\/$/, "$1");
  const kind = await kindOf(outDir);
  if (kind === "file") throw new UsageError(`--out ${outDir} is a file, not a directory`);
  if (kind === "dir") await checkNotHeld(outDir);
  if (kind === "dir" && !args.overwrite) {
    const run = (await readdir(outDir)).filter((n) =>
      ["run.json", "metrics.jsonl", "checkpoints", "best"].includes(n)
    );
    if (run.length > 0) {
      throw new UsageError(
        `--out ${outDir} already holds a run (${run.join(", ")}); use --resume ${outDir} to continue it ` +
          `or --overwrite to start over`,
      );
    }
  }
  return {
    setup,
    runInfo: setup as unknown as Record<string, unknown>,
    outDir,
    resume: false,
    overwrite: args.overwrite === true,
    workers,
    microBatch,
    backend,
  };
}

/**
 * Whether `backend` can run this model's backward pass: one tiny gradient through every op kind the
 * models use (the wasm backend lacks some backward kernels until this library adds them).
 */
async function canTrain(backend: BackendName): Promise<string | undefined> {
  try {
    await selectBackend(backend);
    const g = tf.tidy(() =>
      tf.grads((x: tf.Tensor, w: tf.Tensor) => {
        const img = tf.maxPool(x as tf.Tensor4D, 2, 2, "valid");
        const theta = tf.tensor2d([[1, 0, 0, 0, 1, 0]]);
        const glimpse = spatialTransform(img as tf.Tensor4D, theta, { downsampleFactor: 1 });
        return tf.sum(tf.relu(tf.conv2d(glimpse, w as tf.Tensor4D, 1, "valid")));
      })([tf.ones([1, 8, 8, 1]), tf.ones([3, 3, 1, 2])])
    );
    await Promise.all(g.map((t) => t.data()));
    tf.dispose(g);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

await runCli("train.ts", async () => {
  const { values: args } = parseCli(Deno.args, FLAGS);
  if (args.help) {
    console.log(HELP);
    return;
  }
  const p = await plan(args);
  const { setup, outDir } = p;

  let backend = p.backend;
  if (backend === undefined) {
    const why = await canTrain("wasm");
    backend = why === undefined ? "wasm" : "cpu";
    if (why !== undefined) console.error(`wasm cannot train here (${why}); using cpu`);
  }
  await selectBackend(backend);
  console.log(`backend: ${JSON.stringify(await describeBackend())}`);
  let model;
  try {
    model = createModel(setup.model, setup.modelConfig);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  const mnist = await loadMnist();
  const data = new ClutteredMnist(mnist, setup.data);
  console.log(
    `${setup.model}: ${model.countParams()} parameters; data ${
      JSON.stringify(setup.data.sizes)
    }; run dir ${outDir}`,
  );
  const microBatch = p.microBatch ??
    (setup.model === "cnn" && backend === "wasm" && p.workers === 1 ? 50 : undefined);
  if (microBatch !== undefined) console.log(`gradient in micro-batches of ${microBatch}`);
  if (p.workers > 1) console.log(`data-parallel over ${p.workers} tfjs instances`);

  const result = await train(model, data, {
    ...setup.train,
    microBatch,
    workers: p.workers,
    dataSeed: setup.data.seed,
    outDir,
    resume: p.resume,
    overwrite: p.overwrite,
    runInfo: p.runInfo,
  });
  const best = result.history.find((m) => m.epoch === result.best.epoch);
  console.log(
    `done (${result.stopped}) after epoch ${result.epoch}; best epoch ${result.best.epoch}: valid per-digit ` +
      `error ${(100 * (best?.valid.digitError ?? NaN)).toFixed(2)}%, test per-digit error ${
        (100 * (best?.test.digitError ?? NaN)).toFixed(2)
      }%, test sequence error ${
        (100 * (best?.test.sequenceError ?? NaN)).toFixed(2)
      }%; best model in ${outDir}/best`,
  );
  model.dispose();
});

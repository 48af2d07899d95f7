/**
 * Trains one of the paper's models on cluttered MNIST sequences.
 *
 *   MNIST_DIR=../shared/mnist deno task train                       # one epoch of RNN-SPN (the paper's model)
 *   deno run -A examples/train.ts --model spn --epochs 300          # the full recipe for the CNN-SPN
 *   deno run -A examples/train.ts --resume runs/rnn-spn-…           # continue a stopped run
 *
 * `--help` lists every flag. Writes `run.json`, `metrics.jsonl`, `checkpoints/` and `best/` into `--out`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { mkdir, readFile, writeFile } from "node:fs/promises";
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
  --schedule paper|cosine|constant   (default paper: lr / 1.5 every 10 epochs after epoch 30)
  --patience N              early stopping on validation per-digit error (default 50)
  --dropout P               dropout before the classifier's dense layers (default 0)
  --backend wasm|cpu|webgpu (default: wasm when it can train this model here, else cpu)
  --train-size N            training sequences (default 60000); --valid-size, --test-size likewise (10000)
  --train-eval-size N       training sequences scored per epoch (default 10000)
  --seed S                  seed of the data set and of the weights (default 1)
  --out DIR                 run directory (default runs/<model>-<date>)
  --resume DIR              continue the run in DIR from its newest checkpoint (its run.json gives the setup;
                            --epochs and --backend may be changed)
  --help                    this text
`;

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "rnn-spn" },
    downsample: { type: "string", default: "3" },
    steps: { type: "string", default: "3" },
    epochs: { type: "string" },
    batch: { type: "string", default: "100" },
    "micro-batch": { type: "string" },
    workers: { type: "string", default: "1" },
    lr: { type: "string", default: "5e-4" },
    optimizer: { type: "string", default: "rmsprop" },
    schedule: { type: "string", default: "paper" },
    patience: { type: "string", default: "50" },
    dropout: { type: "string", default: "0" },
    backend: { type: "string" },
    "train-size": { type: "string", default: "60000" },
    "valid-size": { type: "string", default: "10000" },
    "test-size": { type: "string", default: "10000" },
    "train-eval-size": { type: "string", default: "10000" },
    seed: { type: "string", default: "1" },
    out: { type: "string" },
    resume: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  strict: true,
});

if (args.help) {
  console.log(HELP);
  Deno.exit(0);
}

function num(name: string, text: string | undefined, integer = true): number {
  const v = Number(text);
  if (text === undefined || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    console.error(`--${name} must be ${integer ? "an integer" : "a number"}; got ${JSON.stringify(text)}\n`);
    console.error(HELP);
    Deno.exit(2);
  }
  return v;
}

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

let setup: RunSetup;
let outDir: string;
if (args.resume) {
  outDir = args.resume;
  setup = JSON.parse(await readFile(`${outDir}/run.json`, "utf8"));
  if (args.epochs !== undefined) setup.train.epochs = num("epochs", args.epochs);
} else {
  const model = args.model as ModelKind;
  if (!MODEL_KINDS.includes(model)) {
    console.error(`--model must be one of ${MODEL_KINDS.join(", ")}; got ${JSON.stringify(args.model)}`);
    Deno.exit(2);
  }
  const seed = num("seed", args.seed);
  const steps = num("steps", args.steps);
  const modelConfig: Record<string, number> = {
    seed,
    dropout: num("dropout", args.dropout, false),
    ...(model === "rnn-spn" ? { steps } : { digits: steps }),
    ...(model === "cnn" ? {} : { downsampleFactor: num("downsample", args.downsample, false) }),
  };
  setup = {
    model,
    modelConfig,
    data: {
      seed,
      sizes: {
        train: num("train-size", args["train-size"]),
        valid: num("valid-size", args["valid-size"]),
        test: num("test-size", args["test-size"]),
      },
    },
    train: {
      epochs: args.epochs === undefined ? 1 : num("epochs", args.epochs),
      batchSize: num("batch", args.batch),
      learningRate: num("lr", args.lr, false),
      optimizer: args.optimizer as OptimizerName,
      schedule: args.schedule as ScheduleName,
      patience: num("patience", args.patience),
      trainEvalSize: num("train-eval-size", args["train-eval-size"]),
    },
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  outDir = args.out ?? `runs/${model}-${stamp}`;
  await mkdir(outDir, { recursive: true });
  await writeFile(`${outDir}/run.json`, JSON.stringify(setup, null, 2) + "\n");
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

let backend = args.backend as BackendName | undefined;
if (backend === undefined) {
  const why = await canTrain("wasm");
  backend = why === undefined ? "wasm" : "cpu";
  if (why !== undefined) console.error(`wasm cannot train here (${why}); using cpu`);
}
await selectBackend(backend);
console.log(`backend: ${JSON.stringify(await describeBackend())}`);

const mnist = await loadMnist();
const data = new ClutteredMnist(mnist, setup.data);
const model = createModel(setup.model, setup.modelConfig);
console.log(
  `${setup.model}: ${model.countParams()} parameters; data ${
    JSON.stringify(setup.data.sizes)
  }; run dir ${outDir}`,
);

const workers = num("workers", args.workers!);
const microBatch = args["micro-batch"] !== undefined
  ? num("micro-batch", args["micro-batch"])
  : setup.model === "cnn" && backend === "wasm" && workers === 1
  ? 50
  : undefined;
if (microBatch !== undefined) console.log(`gradient in micro-batches of ${microBatch}`);
if (workers > 1) console.log(`data-parallel over ${workers} tfjs instances`);

const result = await train(model, data, {
  ...setup.train,
  microBatch,
  workers,
  dataSeed: setup.data.seed,
  outDir,
  resume: args.resume !== undefined,
});
const best = result.history.find((m) => m.epoch === result.best.epoch);
console.log(
  `done (${result.stopped}) after epoch ${result.epoch}; best epoch ${result.best.epoch}: valid per-digit error ` +
    `${(100 * (best?.valid.digitError ?? NaN)).toFixed(2)}%, test per-digit error ${
      (100 * (best?.test.digitError ?? NaN)).toFixed(2)
    }%, test sequence error ${
      (100 * (best?.test.sequenceError ?? NaN)).toFixed(2)
    }%; best model in ${outDir}/best`,
);
model.dispose();

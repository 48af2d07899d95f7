/**
 * `train()`: the paper's recipe end to end — epochs of clipped RMSprop (or Adam) steps, the learning
 * rate schedule, per-epoch evaluation on a train subset, valid and test, early stopping on the
 * validation per-digit error, JSONL metrics, a progress bar, atomic per-epoch checkpoints, resume,
 * and the best model saved separately.
 *
 * @module
 */
import { tf } from "../tf.ts";
import type { SequenceModel } from "../models/base.ts";
import { type EpochMetrics, loadLatestCheckpoint, type RunState, saveCheckpoint } from "./checkpoint.ts";
import { evaluate, type TrainingData } from "./metrics.ts";
import { createOptimizer, type OptimizerName, setLearningRate } from "./optimizer.ts";
import { ProgressBar, stderrIsTerminal } from "./progress.ts";
import { learningRateAt, type ScheduleName } from "./schedule.ts";
import { trainStep } from "./step.ts";
import { DataParallelStep } from "./data_parallel.ts";
import { openRunDir, repairMetrics, writeMetrics, writeRunFile, writing } from "./run_dir.ts";

/**
 * Options of {@linkcode train}; all optional (defaults: the paper's recipe).
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist, SpnBaseline, train, type TrainOptions } from "@rnnspn/core";
 * const options: TrainOptions = {
 *   epochs: 100,
 *   optimizer: "adam",
 *   learningRate: 1e-3,
 *   schedule: "cosine",
 *   patience: 20,
 *   outDir: "runs/spn-adam",
 *   resume: true, // continue from the newest checkpoint when an earlier run was interrupted
 * };
 * await train(new SpnBaseline(), new ClutteredMnist(await loadMnist()), options);
 * ```
 */
export interface TrainOptions {
  /** Maximum number of epochs (default 300). */
  epochs?: number;
  /** Sequences per batch (default 100). */
  batchSize?: number;
  /** `"rmsprop"` (default: ρ 0.9, ε 1e-6) or `"adam"`. */
  optimizer?: OptimizerName;
  /** Base learning rate (default 5e-4). */
  learningRate?: number;
  /** `"paper"` (default: the authors' loop, ÷1.5 at epochs 33, 45, 57, …), `"step"`, `"cosine"` or `"constant"`. */
  schedule?: ScheduleName;
  /** Epochs of linear learning-rate warm-up before the schedule (default 0; see `ScheduleOptions`). */
  warmupEpochs?: number;
  /** Element-wise gradient clip (default 1). */
  clipValue?: number;
  /** Global gradient-norm clip after the element-wise one (default 5). */
  clipNorm?: number;
  /** Gradient in slices of at most this many sequences, summed (default: the whole batch); see `StepOptions`. */
  microBatch?: number;
  /**
   * Data-parallel steps over this many tfjs instances: the main thread plus `workers − 1` Workers,
   * each on its share of the batch, gradients summed, one update (default 1: off). The same step up
   * to float summation order; uses more cores where the backend itself runs on one (tfjs-wasm under
   * Deno). Does not combine with `microBatch` (each instance holds only its shard anyway).
   */
  workers?: number;
  /** Early stopping: epochs without a better validation per-digit error (default 50). */
  patience?: number;
  /** Training sequences scored each epoch (default 10,000; the first ones, in order). */
  trainEvalSize?: number;
  /** Skip the per-epoch test-split evaluation (default false). */
  skipTest?: boolean;
  /** The data set's seed, recorded in checkpoints as the data-order state (default 0). */
  dataSeed?: number;
  /**
   * Run directory: `metrics.jsonl`, `checkpoints/epoch-NNNN/` (the newest two) and `best/` (model.json +
   * weights.bin). Without it nothing is written. Held by one process at a time: `run.lock` (PID and
   * host) is taken at the start and removed at the end; a second trainer on the same directory fails
   * at once, naming the holder (a lock left by a dead process on this host is taken over with a
   * warning). A directory that already holds a run is refused unless `resume` or `overwrite`.
   */
  outDir?: string;
  /**
   * Continue from the newest loadable checkpoint in `outDir` (default false); a fresh start when it
   * has none. The checkpoint's recipe (batch size, optimizer, learning rate, schedule, clipping, data
   * seed), data split sizes and `runInfo` must match these options; a `metrics.jsonl` that disagrees
   * with the checkpoint's history is rewritten from it.
   */
  resume?: boolean;
  /** Start over in an `outDir` that holds a run, removing that run first (default false). */
  overwrite?: boolean;
  /**
   * Saved as `outDir/run.json` when a run starts (not on resume): how to rebuild it. Every checkpoint
   * records it too; on resume the one given here must equal the checkpoint's record (pass the run.json
   * as read back), else the resume is refused naming the first field that differs.
   */
  runInfo?: Record<string, unknown>;
  /** Draw a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Receives the one-line summary of every epoch (default `console.log`; `null`: silent). */
  log?: ((line: string) => void) | null;
  /** Called after every training step (e.g. to interrupt through `signal`). */
  onBatch?: (info: { epoch: number; batch: number }) => void;
  /** Aborting it stops training between two steps; the unfinished epoch is not checkpointed. */
  signal?: AbortSignal;
  /**
   * Called after every epoch, once its checkpoint is written; returning `false` ends training there
   * (`stopped: "stopped"`), e.g. to keep to a time budget. A resumed run continues from that epoch.
   */
  onEpoch?: (metrics: EpochMetrics) => boolean | void | Promise<boolean | void>;
}

/**
 * What {@linkcode train} returns.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, CnnBaseline, loadMnist, train, type TrainResult } from "@rnnspn/core";
 * const data = new ClutteredMnist(await loadMnist(), { sizes: { train: 1000, valid: 200, test: 200 } });
 * const result: TrainResult = await train(new CnnBaseline(), data, { epochs: 5, log: null });
 * console.log(result.stopped, result.best.epoch, result.best.validDigitError); // "epochs" …
 * ```
 */
export interface TrainResult {
  /** Metrics of every completed epoch (from the start of the run, resumed epochs included). */
  history: EpochMetrics[];
  /** Best validation per-digit error and its epoch (`epoch` 0 when no epoch completed). */
  best: { epoch: number; validDigitError: number };
  /** Why training ended. */
  stopped: "epochs" | "early-stopping" | "aborted" | "stopped";
  /** Last completed epoch. */
  epoch: number;
}

const TRAIN_DEFAULTS = {
  epochs: 300,
  batchSize: 100,
  optimizer: "rmsprop" as OptimizerName,
  learningRate: 5e-4,
  schedule: "paper" as ScheduleName,
  warmupEpochs: 0,
  clipValue: 1,
  clipNorm: 5,
  patience: 50,
  trainEvalSize: 10000,
  skipTest: false,
  dataSeed: 0,
  resume: false,
};

/**
 * The one-line summary of an epoch.
 *
 * @example
 * ```ts
 * import { formatEpoch, type SplitMetrics } from "@rnnspn/core";
 * const s: SplitMetrics = { loss: 0.1, digitError: 0.02, sequenceError: 0.05 };
 * console.log(formatEpoch({ epoch: 1, learningRate: 5e-4, trainLoss: 0.2, train: s, valid: s, test: s, samplesPerSec: 90, seconds: 700 }));
 * ```
 */
export function formatEpoch(m: EpochMetrics): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  return `epoch ${m.epoch} lr ${m.learningRate.toPrecision(3)} loss ${m.trainLoss.toFixed(4)} | ` +
    `train ${pct(m.train.digitError)} seq ${pct(m.train.sequenceError)} | ` +
    `valid ${pct(m.valid.digitError)} seq ${pct(m.valid.sequenceError)} | ` +
    `test ${pct(m.test.digitError)} seq ${pct(m.test.sequenceError)} | ` +
    `${m.samplesPerSec.toFixed(1)} samples/s ${m.seconds.toFixed(0)} s`;
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(`train: ${message}`);
}

/**
 * Trains `model` on `data` with the paper's recipe (see {@linkcode TrainOptions}); resumable from
 * `outDir`'s checkpoints. Returns the metrics history and the best epoch.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, loadMnist, RecurrentAttention, selectBackend, train } from "@rnnspn/core";
 * await selectBackend("cpu");
 * const data = new ClutteredMnist(await loadMnist(), { sizes: { train: 1000, valid: 200, test: 200 } });
 * const model = new RecurrentAttention();
 * const result = await train(model, data, { epochs: 1, outDir: "runs/demo" });
 * console.log(result.best);
 * ```
 */
export async function train(
  model: SequenceModel<object>,
  data: TrainingData,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const o: TrainOptions & typeof TRAIN_DEFAULTS = {
    ...TRAIN_DEFAULTS,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  check(Number.isInteger(o.epochs) && o.epochs >= 1, `epochs must be a positive integer; got ${o.epochs}`);
  check(
    Number.isInteger(o.batchSize) && o.batchSize >= 1,
    `batchSize must be a positive integer; got ${o.batchSize}`,
  );
  check(o.learningRate > 0, `learningRate must be > 0; got ${o.learningRate}`);
  check(
    o.microBatch === undefined || (Number.isInteger(o.microBatch) && o.microBatch >= 1),
    `microBatch must be a positive integer; got ${o.microBatch}`,
  );
  const workers = o.workers ?? 1;
  check(Number.isInteger(workers) && workers >= 1, `workers must be a positive integer; got ${o.workers}`);
  check(workers === 1 || o.microBatch === undefined, "workers > 1 does not combine with microBatch");
  check(
    Number.isInteger(o.patience) && o.patience >= 1,
    `patience must be a positive integer; got ${o.patience}`,
  );
  check(!o.resume || o.outDir !== undefined, "resume needs outDir");
  check(!(o.resume && o.overwrite), "resume and overwrite exclude each other");
  check(!o.overwrite || o.outDir !== undefined, "overwrite needs outDir");
  check(data.size("train") > 0, "the train split is empty");
  const log = o.log === null ? () => {} : o.log ?? ((line: string) => console.log(line));
  const bar = new ProgressBar(o.progress ?? stderrIsTerminal());
  const recorded = {
    epochs: o.epochs,
    batchSize: o.batchSize,
    optimizer: o.optimizer,
    learningRate: o.learningRate,
    schedule: o.schedule,
    warmupEpochs: o.warmupEpochs,
    clipValue: o.clipValue,
    clipNorm: o.clipNorm,
    patience: o.patience,
    trainEvalSize: o.trainEvalSize,
    dataSeed: o.dataSeed,
  };

  // Every write below happens under the run directory's lock, taken before anything is touched.
  const release = o.outDir
    ? await openRunDir(o.outDir, { resume: o.resume, overwrite: o.overwrite ?? false, warn: console.warn })
    : undefined;
  try {
    return await runEpochs(model, data, o, { workers, log, bar, recorded });
  } finally {
    await release?.();
  }
}

/** The recipe's fixed settings, compared with a checkpoint's on resume. */
const RECIPE_KEYS = [
  "batchSize",
  "optimizer",
  "learningRate",
  "schedule",
  "warmupEpochs",
  "clipValue",
  "clipNorm",
  "dataSeed",
];

async function runEpochs(
  model: SequenceModel<object>,
  data: TrainingData,
  o: TrainOptions & typeof TRAIN_DEFAULTS,
  ctx: { workers: number; log: (line: string) => void; bar: ProgressBar; recorded: Record<string, unknown> },
): Promise<TrainResult> {
  const { workers, log, bar, recorded } = ctx;
  if (o.outDir && o.runInfo && !o.resume) {
    await writeRunFile(o.outDir, "run.json", JSON.stringify(o.runInfo, null, 2) + "\n");
  }
  let optimizer: tf.Optimizer;
  let history: EpochMetrics[] = [];
  let best = { epoch: 0, validDigitError: Infinity };
  let start = 1;
  const sizes = { train: data.size("train"), valid: data.size("valid"), test: data.size("test") };
  const resumed = o.resume
    ? await loadLatestCheckpoint(
      o.outDir!,
      model,
      () => createOptimizer(o.optimizer, o.learningRate),
      console.warn,
      { run: o.runInfo, data: sizes },
    )
    : undefined;
  if (resumed) {
    const { state } = resumed.checkpoint;
    check(
      state.optimizer === o.optimizer,
      `resume: the checkpoint used ${state.optimizer}, not ${o.optimizer}`,
    );
    const differs = RECIPE_KEYS.filter((k) => k in state.options && state.options[k] !== recorded[k]);
    if (differs.length > 0) {
      resumed.optimizer.dispose();
      check(
        false,
        `resume: ${resumed.checkpoint.dir} was trained with ` +
          differs.map((k) => `${k} ${JSON.stringify(state.options[k])}`).join(", ") +
          `, not ${differs.map((k) => `${k} ${JSON.stringify(recorded[k])}`).join(", ")}; ` +
          `resume with the run's settings or start over (overwrite)`,
      );
    }
    optimizer = resumed.optimizer;
    history = state.history;
    best = { epoch: state.best.epoch, validDigitError: state.best.validDigitError ?? Infinity };
    start = state.rng.nextEpoch;
    log(`resumed from ${resumed.checkpoint.dir} (epoch ${state.epoch})`);
    await repairMetrics(o.outDir!, history, console.warn);
  } else {
    optimizer = createOptimizer(o.optimizer, o.learningRate);
  }

  let stopped: TrainResult["stopped"] = "epochs";
  let parallel: DataParallelStep | undefined;
  try {
    if (workers > 1) parallel = await DataParallelStep.create(model, { workers });
    if (start > 1 && start - 1 - best.epoch >= o.patience) stopped = "early-stopping";
    for (let epoch = start; epoch <= o.epochs && stopped === "epochs"; epoch++) {
      const t0 = performance.now();
      const lr = learningRateAt(epoch, {
        schedule: o.schedule,
        learningRate: o.learningRate,
        epochs: o.epochs,
        warmupEpochs: o.warmupEpochs,
      });
      setLearningRate(optimizer, lr);
      const total = Math.ceil(data.size("train") / o.batchSize);
      let lossSum: tf.Scalar = tf.keep(tf.scalar(0));
      let batches = 0, samples = 0, stepSeconds = 0;
      // Data epochs are 0-based: epoch e of training draws data epoch e − 1's order.
      for await (
        const { images, labels } of data.batches("train", o.batchSize, { shuffle: true, epoch: epoch - 1 })
      ) {
        if (o.signal?.aborted) {
          tf.dispose([images, labels]);
          stopped = "aborted";
          break;
        }
        const ts = performance.now();
        const clip = { clipValue: o.clipValue, clipNorm: o.clipNorm };
        const loss = parallel
          ? await parallel.step(optimizer, images, labels, clip)
          : trainStep(model, optimizer, images, labels, { ...clip, microBatch: o.microBatch });
        const next = tf.keep(tf.add(lossSum, loss) as tf.Scalar);
        tf.dispose([lossSum, loss, images]);
        lossSum = next;
        samples += labels.shape[0];
        labels.dispose();
        batches++;
        stepSeconds += (performance.now() - ts) / 1000;
        o.onBatch?.({ epoch, batch: batches });
        bar.update(`epoch ${epoch}`, batches, total, samples, stepSeconds);
      }
      bar.clear();
      const trainLoss = (await lossSum.data())[0] / Math.max(1, batches);
      lossSum.dispose();
      if (stopped === "aborted") break;
      const evalOpts = { batchSize: o.batchSize };
      const trainM = await evaluate(model, data, "train", { ...evalOpts, limit: o.trainEvalSize });
      const valid = await evaluate(model, data, "valid", evalOpts);
      const test = o.skipTest
        ? { loss: NaN, digitError: NaN, sequenceError: NaN }
        : await evaluate(model, data, "test", evalOpts);
      const metrics: EpochMetrics = {
        epoch,
        learningRate: lr,
        trainLoss,
        train: trainM,
        valid,
        test,
        samplesPerSec: samples / Math.max(stepSeconds, 1e-9),
        seconds: (performance.now() - t0) / 1000,
      };
      history.push(metrics);
      const improved = valid.digitError < best.validDigitError ||
        (best.epoch === 0 && Number.isNaN(valid.digitError));
      if (improved) best = { epoch, validDigitError: valid.digitError };
      if (o.outDir) {
        if (improved) await writing(`${o.outDir}/best`, model.save(`${o.outDir}/best`));
        const state: RunState = {
          version: 1,
          epoch,
          learningRate: lr,
          optimizer: o.optimizer,
          best,
          rng: { dataSeed: o.dataSeed, nextEpoch: epoch + 1 },
          history,
          options: recorded,
          data: sizes,
          ...(o.runInfo ? { run: o.runInfo } : {}),
        };
        await writing(`${o.outDir}/checkpoints`, saveCheckpoint(o.outDir, model, optimizer, state));
        await writeMetrics(o.outDir, history);
      }
      log(formatEpoch(metrics));
      const more = (await o.onEpoch?.(metrics)) !== false;
      if (epoch - best.epoch >= o.patience) stopped = "early-stopping";
      else if (!more && epoch < o.epochs) stopped = "stopped";
    }
  } finally {
    parallel?.dispose();
    optimizer.dispose();
  }
  return { history, best, stopped, epoch: history.at(-1)?.epoch ?? 0 };
}

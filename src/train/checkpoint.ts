/**
 * Per-epoch training checkpoints: model weights (standard tfjs model.json + weights.bin), optimizer
 * state, and the run's state (epoch, learning rate, best so far, data-order state, history), written
 * atomically as one directory `checkpoints/epoch-NNNN` (temp dir + rename). The newest two are kept,
 * so a damaged newest one still leaves the previous one loadable.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { METADATA_KEY, type SequenceModel } from "../models/base.ts";
import { modelFiles, readBytes, readModelArtifacts, writeDirAtomic } from "../models/io.ts";
import { sha256Hex as digest } from "../models/integrity.ts";
import { loadOptimizerState, type OptimizerName, saveOptimizerState } from "./optimizer.ts";

/** Sub-directory of a run directory that holds the checkpoints. */
export const CHECKPOINTS = "checkpoints";
const STATE_FILE = "state.json";
const OPT_FILE = "optimizer.bin";
const KEEP = 2;

/**
 * Per-split metrics of one evaluation.
 *
 * @example
 * ```ts
 * import { ClutteredMnist, evaluate, loadMnist, loadModel, type SplitMetrics } from "@rnnspn/core";
 * const model = await loadModel("runs/rnn-spn/best", { accept: "rnnspn" });
 * const test: SplitMetrics = await evaluate(model, new ClutteredMnist(await loadMnist()), "test");
 * console.log(test.loss, test.digitError, test.sequenceError); // fractions: 0.01 = 1%
 * ```
 */
export interface SplitMetrics {
  /** Mean cross-entropy per digit. */
  loss: number;
  /** Fraction of digits misclassified. */
  digitError: number;
  /** Fraction of sequences with at least one digit wrong. */
  sequenceError: number;
}

/**
 * One epoch's metrics (one JSONL line).
 *
 * @example
 * ```ts
 * import type { EpochMetrics } from "@rnnspn/core";
 * const text = await Deno.readTextFile("runs/rnn-spn/metrics.jsonl");
 * const history: EpochMetrics[] = text.trim().split("\n").map((line) => JSON.parse(line));
 * const last = history[history.length - 1];
 * console.log(last.epoch, last.valid.digitError, last.samplesPerSec);
 * ```
 */
export interface EpochMetrics {
  /** 1-based epoch. */
  epoch: number;
  /** Learning rate used in this epoch. */
  learningRate: number;
  /** Mean training loss over the epoch's batches (training mode). */
  trainLoss: number;
  /** On the first `trainEvalSize` training sequences (inference mode). */
  train: SplitMetrics;
  /** On the validation split. */
  valid: SplitMetrics;
  /** On the test split. */
  test: SplitMetrics;
  /** Training throughput (sequences per second, training steps only). */
  samplesPerSec: number;
  /** Wall-clock seconds of the epoch, evaluation included. */
  seconds: number;
}

/**
 * Everything besides weights that a resumed run needs.
 *
 * @example
 * ```ts
 * import type { RunState } from "@rnnspn/core";
 * // Each checkpoint directory holds model.json, weights.bin, optimizer.bin and this state as state.json.
 * const dir = "runs/rnn-spn/checkpoints/epoch-0042";
 * const state: RunState = JSON.parse(await Deno.readTextFile(`${dir}/state.json`));
 * console.log(`epoch ${state.epoch}: best ${state.best.validDigitError} at epoch ${state.best.epoch}`);
 * ```
 */
export interface RunState {
  /** Format version. */
  version: 1;
  /** Last completed epoch (1-based). */
  epoch: number;
  /** Learning rate of that epoch. */
  learningRate: number;
  /** Optimizer kind. */
  optimizer: OptimizerName;
  /** Best validation per-digit error so far and its epoch. */
  best: { epoch: number; validDigitError: number };
  /**
   * Data-order state: the data set's seed and the next epoch to draw. Batch order depends only on
   * (seed, split, epoch), so this is the whole PRNG state of training (dropout, if enabled, is tfjs's
   * unseeded RNG and not reproducible).
   */
  rng: { dataSeed: number; nextEpoch: number };
  /** Metrics of every completed epoch. */
  history: EpochMetrics[];
  /** The train() options the run was started with (for the record). */
  options: Record<string, unknown>;
}

/** A loaded checkpoint. */
export interface Checkpoint {
  /** Its directory. */
  dir: string;
  /** Run state. */
  state: RunState;
}

function pad(epoch: number): string {
  return String(epoch).padStart(4, "0");
}

/** Writes the checkpoint of `state.epoch` into `runDir/checkpoints/epoch-NNNN`, atomically; prunes old ones. */
export async function saveCheckpoint(
  runDir: string,
  model: SequenceModel<object>,
  optimizer: tf.Optimizer,
  state: RunState,
): Promise<string> {
  const dir = `${runDir}/${CHECKPOINTS}/epoch-${pad(state.epoch)}`;
  model.model.setUserDefinedMetadata({ [METADATA_KEY]: { kind: model.kind, config: model.config } });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  const opt = await saveOptimizerState(optimizer);
  const files = await modelFiles(artifacts!);
  const optHash = await digest(opt.data);
  files[OPT_FILE] = opt.data;
  files[STATE_FILE] = JSON.stringify({
    ...state,
    optimizerState: { specs: opt.specs, bytes: opt.data.byteLength, sha256: optHash },
  });
  await writeDirAtomic(dir, files);
  await prune(runDir);
  return dir;
}

/** Checkpoint directories of a run, newest first (temp dirs of interrupted writes are ignored). */
export async function listCheckpoints(runDir: string): Promise<string[]> {
  const fs = await import("node:fs/promises");
  let names: string[];
  try {
    names = await fs.readdir(`${runDir}/${CHECKPOINTS}`);
  } catch {
    return [];
  }
  return names.filter((n) => /^epoch-\d+$/.test(n)).sort().reverse().map((n) =>
    `${runDir}/${CHECKPOINTS}/${n}`
  );
}

async function prune(runDir: string): Promise<void> {
  const fs = await import("node:fs/promises");
  const all = await listCheckpoints(runDir);
  for (const dir of all.slice(KEEP)) await fs.rm(dir, { recursive: true, force: true });
  // Leftovers of writes killed mid-way.
  const names = await fs.readdir(`${runDir}/${CHECKPOINTS}`);
  for (const n of names.filter((n) => /\.(tmp|old)-/.test(n))) {
    await fs.rm(`${runDir}/${CHECKPOINTS}/${n}`, { recursive: true, force: true });
  }
}

/**
 * Loads the checkpoint in `dir` into `model` and `optimizer` (which must have the same architecture
 * and kind as when it was saved). Every file is verified; a damaged one gives an Error naming it.
 */
export async function loadCheckpoint(
  dir: string,
  model: SequenceModel<object>,
  optimizer: tf.Optimizer,
): Promise<Checkpoint> {
  const statePath = `${dir}/${STATE_FILE}`;
  const text = new TextDecoder().decode(await readBytes(statePath, "loadCheckpoint"));
  let raw: RunState & {
    optimizerState: { specs: tf.io.WeightsManifestEntry[]; bytes: number; sha256: string };
  };
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`loadCheckpoint: ${statePath} is not valid JSON (truncated?): ${(err as Error).message}`);
  }
  if (raw.version !== 1) throw new Error(`loadCheckpoint: ${statePath} has unknown version ${raw.version}`);
  const artifacts = await readModelArtifacts(dir);
  const meta = (artifacts.userDefinedMetadata as Record<string, { kind: string; config: unknown }>)
    ?.[METADATA_KEY];
  if (meta?.kind !== model.kind || JSON.stringify(meta.config) !== JSON.stringify(model.config)) {
    throw new Error(
      `loadCheckpoint: ${dir} holds a ${meta?.kind} model with config ${JSON.stringify(meta?.config)}, ` +
        `not this ${model.kind} with ${JSON.stringify(model.config)}`,
    );
  }
  const optPath = `${dir}/${OPT_FILE}`;
  const optData = await readBytes(optPath, "loadCheckpoint");
  if (
    optData.byteLength !== raw.optimizerState.bytes || (await digest(optData)) !== raw.optimizerState.sha256
  ) {
    throw new Error(
      `loadCheckpoint: ${optPath} is damaged: ${optData.byteLength} bytes (expected ${raw.optimizerState.bytes}) ` +
        `or wrong SHA-256`,
    );
  }
  // Weights by position: variable names differ between model instances, the order does not.
  const decoded = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  const values = artifacts.weightSpecs!.map((s) => decoded[s.name]);
  model.model.setWeights(values);
  tf.dispose(values);
  await loadOptimizerState(optimizer, { specs: raw.optimizerState.specs, data: optData });
  const { optimizerState: _, ...state } = raw;
  return { dir, state };
}

/**
 * Loads the newest loadable checkpoint of `runDir`. A damaged newer one is skipped with a warning
 * through `warn` (so a run killed while writing loses at most that epoch); none at all → `undefined`.
 */
export async function loadLatestCheckpoint(
  runDir: string,
  model: SequenceModel<object>,
  createOptimizer: () => tf.Optimizer,
  warn: (message: string) => void = console.warn,
): Promise<{ checkpoint: Checkpoint; optimizer: tf.Optimizer } | undefined> {
  const dirs = await listCheckpoints(runDir);
  for (const dir of dirs) {
    const optimizer = createOptimizer();
    try {
      return { checkpoint: await loadCheckpoint(dir, model, optimizer), optimizer };
    } catch (err) {
      optimizer.dispose();
      warn(`resume: skipping ${dir}: ${(err as Error).message}`);
    }
  }
  if (dirs.length > 0) {
    throw new Error(`resume: no loadable checkpoint in ${runDir}/${CHECKPOINTS} (tried ${dirs.length})`);
  }
  return undefined;
}

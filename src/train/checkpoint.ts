/**
 * Per-epoch training checkpoints: model weights (standard tfjs model.json + weights.bin), optimizer
 * state, and the run's state (epoch, learning rate, best so far, data-order state, history), written
 * atomically as one directory `checkpoints/epoch-NNNN` (temp dir + rename). The newest two are kept,
 * so a damaged newest one still leaves the previous one loadable.
 *
 * @module
 */
import { tf } from "../tf.ts";
import { fileSystem } from "../data/files.ts";
import { METADATA_KEY, type SequenceModel } from "../models/base.ts";
import { MODEL_FILE, modelFiles, readModelArtifacts, WEIGHTS_FILE, writeDirAtomic } from "../models/io.ts";
import {
  checkRecord,
  firstDifference,
  jsonProblem,
  type Manifest,
  MANIFEST_FILE,
  manifestFor,
  MAX_MANIFEST_BYTES,
  parseManifest,
  sha256Hex as digest,
} from "../models/integrity.ts";
import { readFileBytes } from "../data/files.ts";
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
  /** The split sizes of the data set it trained on (compared on resume; absent in older checkpoints). */
  data?: Record<string, number>;
  /** `train({ runInfo })`, the run's `run.json` (compared with it on resume; absent when not given). */
  run?: Record<string, unknown>;
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

/**
 * Writes the checkpoint of `state.epoch` into `runDir/checkpoints/epoch-NNNN`, atomically; prunes old
 * ones. Its `manifest.json` records the length and SHA-256 of every other file in it (model.json,
 * weights.bin, optimizer.bin, state.json), so that a resume reads nothing unverified.
 */
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
  const { [MANIFEST_FILE]: _, ...files } = await modelFiles(artifacts!);
  files[OPT_FILE] = opt.data;
  files[STATE_FILE] = JSON.stringify({
    ...state,
    optimizerState: { specs: opt.specs, bytes: opt.data.byteLength, sha256: await digest(opt.data) },
  });
  await writeDirAtomic(dir, { ...files, [MANIFEST_FILE]: await manifestFor(files) });
  await prune(runDir);
  return dir;
}

/** Checkpoint directories of a run, newest first (temp dirs of interrupted writes are ignored). */
export async function listCheckpoints(runDir: string): Promise<string[]> {
  const fs = await fileSystem("checkpoint");
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
  const fs = await fileSystem("checkpoint");
  const all = await listCheckpoints(runDir);
  for (const dir of all.slice(KEEP)) await fs.rm(dir, { recursive: true, force: true });
  // Leftovers of writes killed mid-way.
  const names = await fs.readdir(`${runDir}/${CHECKPOINTS}`);
  for (const n of names.filter((n) => /\.(tmp|old)-/.test(n))) {
    await fs.rm(`${runDir}/${CHECKPOINTS}/${n}`, { recursive: true, force: true });
  }
}

/**
 * A checkpoint that is intact but belongs to another setup (model config, data sizes, run.json): an
 * older checkpoint of the same run would not fit either, so a resume stops at it.
 */
export class CheckpointMismatchError extends Error {}

/** What a resume expects of a checkpoint besides intact files (each compared only when recorded). */
export interface CheckpointExpectation {
  /** The run's record (`run.json`): must equal the checkpoint's `run`. */
  run?: Record<string, unknown>;
  /** The data set's split sizes: must equal the checkpoint's `data`. */
  data?: Record<string, number>;
}

/** The files a checkpoint's manifest must record (a checkpoint written before it covered all four: the first two). */
const COVERED = [MODEL_FILE, WEIGHTS_FILE, OPT_FILE, STATE_FILE];

/** Reads `name` from checkpoint `dir` at the size `manifest` records, and checks it against the record. */
async function readCovered(dir: string, name: string, manifest: Manifest): Promise<Uint8Array> {
  const record = manifest.files[name];
  const path = `${dir}/${name}`;
  const bytes = await readFileBytes(path, "loadCheckpoint", record.bytes);
  await checkRecord(bytes, record, `loadCheckpoint: ${path}`, MANIFEST_FILE);
  return bytes;
}

/**
 * Loads the checkpoint in `dir` into `model` and `optimizer` (which must have the same architecture
 * and kind as when it was saved). Every file is verified against the checkpoint's manifest before it is
 * parsed; a damaged one gives an Error naming it. An intact checkpoint of another setup (`expect`, the
 * model's config) gives a {@linkcode CheckpointMismatchError} naming the first field that differs.
 * `warn` hears of a checkpoint written before its manifest covered state.json and optimizer.bin.
 */
export async function loadCheckpoint(
  dir: string,
  model: SequenceModel<object>,
  optimizer: tf.Optimizer,
  expect: CheckpointExpectation = {},
  warn: (message: string) => void = console.warn,
): Promise<Checkpoint> {
  const manifestPath = `${dir}/${MANIFEST_FILE}`;
  const manifest = parseManifest(
    await readFileBytes(manifestPath, "loadCheckpoint", MAX_MANIFEST_BYTES),
    `loadCheckpoint: ${manifestPath}`,
  );
  const listed = Object.keys(manifest.files).sort();
  const legacy = firstDifference(listed, [MODEL_FILE, WEIGHTS_FILE].sort()) === undefined;
  if (!legacy && firstDifference(listed, [...COVERED].sort()) !== undefined) {
    throw new Error(
      `loadCheckpoint: ${manifestPath} lists ${listed.join(", ")}; a checkpoint's manifest lists ` +
        `${COVERED.join(", ")} (corrupt?)`,
    );
  }
  if (legacy) warn(`resume: ${dir} predates checkpoints whose manifest covers ${STATE_FILE} and ${OPT_FILE}`);
  const statePath = `${dir}/${STATE_FILE}`;
  const stateBytes = legacy
    ? await readFileBytes(statePath, "loadCheckpoint", MAX_MANIFEST_BYTES * 64)
    : await readCovered(dir, STATE_FILE, manifest);
  let raw: RunState & {
    optimizerState: { specs: tf.io.WeightsManifestEntry[]; bytes: number; sha256: string };
  };
  try {
    raw = JSON.parse(new TextDecoder().decode(stateBytes));
  } catch (err) {
    throw new Error(
      `loadCheckpoint: ${statePath} is not valid JSON (truncated?): ${jsonProblem(err, stateBytes)}`,
    );
  }
  const stateProblem = checkState(raw);
  if (stateProblem) throw new Error(`loadCheckpoint: ${statePath}: ${stateProblem} (corrupt?)`);
  for (const [key, expected] of Object.entries(expect)) {
    const recorded = (raw as unknown as Record<string, unknown>)[key];
    if (expected === undefined || recorded === undefined) continue;
    const diff = firstDifference(expected, recorded, key);
    if (diff) {
      throw new CheckpointMismatchError(
        `resume: ${diff} (${key === "run" ? "run.json" : "this run's data"} vs the checkpoint ${dir}): ` +
          `the run directory was trained with other settings; restore them or start over`,
      );
    }
  }
  const artifacts = await readModelArtifacts(dir);
  const meta = (artifacts.userDefinedMetadata as Record<string, { kind: string; config: unknown }>)
    ?.[METADATA_KEY];
  const configDiff = firstDifference(meta?.config, model.config, "config");
  if (meta?.kind !== model.kind || configDiff) {
    throw new CheckpointMismatchError(
      `loadCheckpoint: ${dir} holds a ${meta?.kind} model, not this ${model.kind}` +
        (configDiff ? ` (${configDiff}, checkpoint vs this model)` : ""),
    );
  }
  const optPath = `${dir}/${OPT_FILE}`;
  const optData = legacy
    ? await readFileBytes(optPath, "loadCheckpoint", raw.optimizerState.bytes)
    : await readCovered(dir, OPT_FILE, manifest);
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

/** What is wrong with the shape of a parsed state.json, or `undefined`. */
function checkState(raw: RunState & { optimizerState?: { bytes?: unknown } }): string | undefined {
  if (raw === null || typeof raw !== "object") return "not an object";
  if (raw.version !== 1) return `unknown version ${JSON.stringify(raw.version)}`;
  if (!Number.isInteger(raw.epoch) || raw.epoch < 1) return `epoch ${JSON.stringify(raw.epoch)}`;
  if (raw.rng?.nextEpoch !== raw.epoch + 1) {
    return `rng.nextEpoch ${JSON.stringify(raw.rng?.nextEpoch)} is not epoch + 1 (${raw.epoch + 1})`;
  }
  if (!Array.isArray(raw.history) || raw.history.length !== raw.epoch) {
    return `history must hold ${raw.epoch} epochs`;
  }
  if (!Number.isSafeInteger(raw.optimizerState?.bytes)) return "no optimizerState";
  return undefined;
}

/**
 * Loads the newest loadable checkpoint of `runDir`. A damaged newer one is skipped with a warning
 * through `warn` (so a run killed while writing loses at most that epoch); none at all → `undefined`.
 * One of another setup (see {@linkcode loadCheckpoint}'s `expect`) stops the search with its error.
 */
export async function loadLatestCheckpoint(
  runDir: string,
  model: SequenceModel<object>,
  createOptimizer: () => tf.Optimizer,
  warn: (message: string) => void = console.warn,
  expect: CheckpointExpectation = {},
): Promise<{ checkpoint: Checkpoint; optimizer: tf.Optimizer } | undefined> {
  const dirs = await listCheckpoints(runDir);
  for (const dir of dirs) {
    const optimizer = createOptimizer();
    try {
      return { checkpoint: await loadCheckpoint(dir, model, optimizer, expect, warn), optimizer };
    } catch (err) {
      optimizer.dispose();
      if (err instanceof CheckpointMismatchError) throw err;
      warn(`resume: skipping ${dir}: ${(err as Error).message}`);
    }
  }
  if (dirs.length > 0) {
    throw new Error(`resume: no loadable checkpoint in ${runDir}/${CHECKPOINTS} (tried ${dirs.length})`);
  }
  return undefined;
}

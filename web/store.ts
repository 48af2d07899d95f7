/**
 * The training page's checkpoint in IndexedDB (database `rnnspn-train`, one record under `latest`), shared
 * by the training Worker (which writes it) and the viewing page's Worker (which reads the model out of it
 * for "use the model trained in this browser"). A record holds the model as the three files a saved model
 * directory holds (`model.json`, `weights.bin`, `manifest.json`), so the same verified reader that loads a
 * directory loads it, and an export is those files as they are.
 *
 * @module
 */
import { type AnyModel, loadModel } from "../mod.ts";
import { readArtifacts } from "../src/models/read.ts";
import { NotFoundError } from "../src/data/files.ts";

const DB = "rnnspn-train";
const STORE = "checkpoints";
const KEY = "latest";

/** What a run trains; a checkpoint resumes only a run with the same settings. */
export interface RunConfig {
  model: "rnn-spn" | "spn";
  ds: number;
  batch: number;
  learningRate: number;
  /** Data-parallel instances (the main training Worker + helpers): part of the float summation order. */
  workers: number;
  backend: string;
}

/** One validation point of the curves. */
export interface EvalPoint {
  step: number;
  loss: number;
  digitError: number;
  sequenceError: number;
}

/** One checkpoint: everything a resumed run needs to take the very next step as an uninterrupted one. */
export interface StoredCheckpoint {
  config: RunConfig;
  /** Steps taken (the next one is `step + 1`). */
  step: number;
  /** `model.json`, `weights.bin`, `manifest.json`. */
  files: Record<string, Uint8Array | string>;
  /** Optimizer state (`saveOptimizerState`): specs and bytes. */
  optimizer: { specs: unknown[]; data: Uint8Array };
  /** Loss of every step so far (index k: step k + 1). */
  losses: number[];
  /** Validation points so far. */
  evals: EvalPoint[];
  /** When it was written (ISO). */
  savedAt: string;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error(`IndexedDB ${DB}: ${request.error?.message}`));
  });
}

async function transact<T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = fn(tx.objectStore(STORE));
      // Resolve on the transaction's completion: only then is a write durable.
      tx.oncomplete = () => resolve(request.result as T);
      tx.onerror = () => reject(new Error(`IndexedDB ${DB}: ${tx.error?.message}`));
      tx.onabort = () => reject(new Error(`IndexedDB ${DB}: transaction aborted (${tx.error?.message})`));
    });
  } finally {
    db.close();
  }
}

/**
 * Writes `checkpoint` as the latest one (replacing the previous one in one transaction).
 *
 * @example
 * ```ts ignore
 * import { loadStored, saveStored } from "./store.ts";
 * const latest = await loadStored();
 * if (latest) await saveStored({ ...latest, savedAt: new Date().toISOString() });
 * ```
 */
export function saveStored(checkpoint: StoredCheckpoint): Promise<void> {
  return transact("readwrite", (s) => s.put(checkpoint, KEY));
}

/**
 * The latest checkpoint, or null.
 *
 * @example
 * ```ts ignore
 * import { loadStored } from "./store.ts";
 * const latest = await loadStored();
 * console.log(latest ? `step ${latest.step} of ${latest.config.model}` : "nothing trained here yet");
 * ```
 */
export async function loadStored(): Promise<StoredCheckpoint | null> {
  return (await transact<StoredCheckpoint | undefined>("readonly", (s) => s.get(KEY))) ?? null;
}

/**
 * Removes the checkpoint ("start over").
 *
 * @example
 * ```ts ignore
 * import { deleteStored } from "./store.ts";
 * await deleteStored();
 * ```
 */
export function deleteStored(): Promise<void> {
  return transact("readwrite", (s) => s.delete(KEY));
}

/**
 * The model of a checkpoint's files, verified like a directory (manifest, weights record, topology).
 *
 * @example
 * ```ts ignore
 * import { loadStored, modelFromFiles } from "./store.ts";
 * const latest = await loadStored();
 * if (latest) console.log((await modelFromFiles(latest.files)).kind);
 * ```
 */
export async function modelFromFiles(files: Record<string, Uint8Array | string>): Promise<AnyModel> {
  const artifacts = await readArtifacts({
    where: (name) => `indexeddb:${DB}/${name}`,
    read: (name) => {
      const f = files[name];
      if (f === undefined) return Promise.reject(new NotFoundError(`no ${name} in the checkpoint`));
      return Promise.resolve(typeof f === "string" ? new TextEncoder().encode(f) : f);
    },
  });
  return await loadModel({ load: () => Promise.resolve(artifacts) }, { accept: "rnnspn" });
}

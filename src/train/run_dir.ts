/**
 * Ownership and housekeeping of a run directory (`train({ outDir })`): an exclusive lock file, the
 * refusal to start over an existing run unless told to resume or overwrite, and the clean-up of what
 * a killed run leaves behind (temp directories, a `best/` caught between its two renames), and
 * `metrics.jsonl` written, or on resume repaired, from the checkpoint's history.
 *
 * The lock is `outDir/run.lock`: JSON `{ pid, host, started }`, created complete (written under a
 * temp name, then hard-linked into place, which fails when the name exists), so a reader never sees
 * a half-written one. A lock of a dead process on this host (its PID is gone) is taken over with a
 * warning; a lock from another host is never guessed dead.
 *
 * File system and process access go through {@linkcode RunDirHost}, imported lazily from the Node
 * built-ins that Deno, Node and Bun provide, so that importing this module does no I/O.
 *
 * @module
 */
import { fileSystem } from "../data/files.ts";

import type { EpochMetrics } from "./checkpoint.ts";

/** Name of the lock file inside a run directory. */
export const LOCK_FILE = "run.lock";

/** Entries that a run writes into its directory (besides the lock and temp names). */
const RUN_ENTRIES = ["run.json", "metrics.jsonl", "checkpoints", "best"];
/** Temp and aside names of interrupted atomic writes (`best.tmp-*`, `.metrics.jsonl.tmp-*`, …). */
const LEFTOVER = /^(best\.(tmp|old)-|\.[^/]+\.tmp-)/;
/** A lock's temp name, with the PID of the process that wrote it. */
const LOCK_TMP = /^\.run\.lock\.tmp-(\d+)-/;

/** What the run directory needs from the runtime. */
export interface RunDirHost {
  /** `node:fs/promises`. */
  fs: typeof import("node:fs/promises");
  /** This process's id. */
  pid: number;
  /** This machine's name. */
  host: string;
  /** Whether a process with this id exists on this machine. */
  alive(pid: number): boolean;
}

let hostPromise: Promise<RunDirHost> | undefined;

/** The runtime's file system and process information (Deno, Node, Bun); loaded on first use. */
export function runDirHost(): Promise<RunDirHost> {
  hostPromise ??= (async () => {
    // fileSystem first: in a browser it fails clearly, before any node: import is tried.
    const fs = await fileSystem("train: outDir (a run directory)");
    const [process, os] = await Promise.all([import("node:process"), import("node:os")]);
    return {
      fs,
      pid: process.default.pid,
      host: os.hostname(),
      alive(pid: number): boolean {
        try {
          process.default.kill(pid, 0); // signal 0: existence check only
          return true;
        } catch (err) {
          // EPERM: it exists but belongs to someone else.
          return (err as { code?: string }).code !== "ESRCH";
        }
      },
    };
  })();
  return hostPromise;
}

/** Contents of a lock file. */
export interface LockInfo {
  /** Process id of the holder. */
  pid: number;
  /** Host name of the holder. */
  host: string;
  /** When it was taken (ISO 8601). */
  started: string;
}

function code(err: unknown): string | undefined {
  return (err as { code?: string })?.code;
}

function describeLock(info: LockInfo): string {
  return `process ${info.pid} on host ${info.host} (since ${info.started})`;
}

/**
 * Creates `path` holding `text` unless it exists (EEXIST): by hard-linking the complete temp file
 * `tmp`, so that no reader sees it half-written; where the file system has no hard links, by an
 * exclusive create and a write.
 */
async function createExclusive(h: RunDirHost, tmp: string, path: string, text: string): Promise<void> {
  try {
    await h.fs.link(tmp, path);
  } catch (err) {
    if (!["EPERM", "ENOTSUP", "ENOSYS", "EOPNOTSUPP"].includes(code(err) ?? "")) throw err;
    await h.fs.writeFile(path, text, { flag: "wx" });
  }
}

/**
 * Takes the lock of `dir` (which must exist) for this process; returns the function that releases
 * it. Throws when another live process (or another host) holds it, naming the lock file and the
 * holder.
 */
export async function lockRunDir(
  dir: string,
  warn: (message: string) => void,
  host?: RunDirHost,
): Promise<() => Promise<void>> {
  const h = host ?? await runDirHost();
  const path = `${dir}/${LOCK_FILE}`;
  const mine: LockInfo = { pid: h.pid, host: h.host, started: new Date().toISOString() };
  const text = JSON.stringify(mine) + "\n";
  const tmp = `${dir}/.${LOCK_FILE}.tmp-${h.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await h.fs.writeFile(tmp, text);
  try {
    for (let attempt = 0;; attempt++) {
      try {
        await createExclusive(h, tmp, path, text);
        break;
      } catch (err) {
        if (code(err) !== "EEXIST" || attempt >= 3) throw err;
      }
      let held: string;
      try {
        held = await h.fs.readFile(path, "utf8");
      } catch (err) {
        if (code(err) === "ENOENT") continue; // released meanwhile
        throw err;
      }
      let info: LockInfo | undefined;
      try {
        info = JSON.parse(held);
      } catch {
        info = undefined;
      }
      if (info === undefined || typeof info.pid !== "number" || typeof info.host !== "string") {
        throw new Error(
          `train: ${path} exists but is not a lock file of this library (${
            JSON.stringify(held.slice(0, 80))
          }); remove it if no training runs in ${dir}`,
        );
      }
      if (info.host !== h.host || h.alive(info.pid)) {
        throw new Error(
          `train: ${dir} is in use by ${describeLock(info)}: lock file ${path}` +
            (info.host === h.host ? "" : ` (remove it if that process no longer runs)`),
        );
      }
      // Stale: move it aside under a unique name (atomic), so that two processes taking it over at
      // once cannot both succeed; the loser's rename finds nothing and it retries against the
      // winner's live lock.
      const aside = `${tmp}.stale`;
      try {
        await h.fs.rename(path, aside);
      } catch (err) {
        if (code(err) === "ENOENT") continue;
        throw err;
      }
      const moved = await h.fs.readFile(aside, "utf8");
      await h.fs.rm(aside, { force: true });
      if (moved !== held) {
        throw new Error(`train: ${path} changed while taking over a stale lock; another process is starting`);
      }
      warn(`train: taking over the stale lock ${path} of ${describeLock(info)}, which no longer runs`);
    }
  } finally {
    await h.fs.rm(tmp, { force: true });
  }
  return async () => {
    // Only our own lock: never one that another process took over meanwhile.
    const now = await h.fs.readFile(path, "utf8").catch(() => undefined);
    if (now === text) await h.fs.rm(path, { force: true });
  };
}

/**
 * Creates `dir` if needed (refusing a file of that name), takes its lock and makes it ready: an
 * existing run (`run.json`, `metrics.jsonl`, `checkpoints/` or `best/`) is refused unless `resume`
 * (continue it) or `overwrite` (remove it first); leftovers of killed writes are removed and a
 * `best/` caught between its two renames is restored. Returns the lock's release function.
 */
export async function openRunDir(
  dir: string,
  options: { resume: boolean; overwrite: boolean; warn: (message: string) => void },
  host?: RunDirHost,
): Promise<() => Promise<void>> {
  const h = host ?? await runDirHost();
  const { fs } = h;
  const kind = await fs.stat(dir).then((s) => (s.isDirectory() ? "dir" : "other"), (err) => {
    if (code(err) === "ENOENT") return "none";
    throw new Error(`train: cannot use outDir ${dir}: ${(err as Error).message}`);
  });
  if (kind === "other") throw new Error(`train: outDir ${dir} exists and is not a directory`);
  if (kind === "none") {
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (err) {
      throw new Error(`train: cannot create outDir ${dir}: ${(err as Error).message}`);
    }
  }
  const release = await lockRunDir(dir, options.warn, h);
  try {
    const names = await fs.readdir(dir);
    const existing = names.filter((n) => RUN_ENTRIES.includes(n) || /^best\.(tmp|old)-/.test(n));
    if (existing.length > 0 && !options.resume) {
      if (!options.overwrite) {
        throw new Error(
          `train: outDir ${dir} already holds a run (${existing.join(", ")}); ` +
            `pass resume to continue it or overwrite to start over`,
        );
      }
      for (const n of existing) await fs.rm(`${dir}/${n}`, { recursive: true, force: true });
      options.warn(`train: overwrite: removed the previous run in ${dir} (${existing.join(", ")})`);
    }
    await recoverBest(dir, h, options.warn);
    await removeLeftovers(dir, h);
  } catch (err) {
    await release();
    throw err;
  }
  return release;
}

/**
 * A kill between `best → best.old-X` and `best.tmp-X → best` leaves no `best/`: put the previous
 * one back. (The checkpoint of that epoch was not written yet, so a resume redoes the epoch and
 * saves its best again; the old one is the one that matches the newest checkpoint.)
 */
async function recoverBest(dir: string, h: RunDirHost, warn: (message: string) => void): Promise<void> {
  const names = await h.fs.readdir(dir);
  if (names.includes("best")) return;
  const old = names.filter((n) => /^best\.old-/.test(n)).sort().at(-1);
  if (old === undefined) return;
  await h.fs.rename(`${dir}/${old}`, `${dir}/best`);
  warn(`train: restored ${dir}/best from ${old}, left by a run killed while replacing it`);
}

/** Temp names of writes that a killed run never renamed into place, in the run and its checkpoints. */
async function removeLeftovers(dir: string, h: RunDirHost): Promise<void> {
  for (const n of await h.fs.readdir(dir)) {
    // Another process may be about to link its lock temp: only those of dead processes go.
    const lockTmp = LOCK_TMP.exec(n);
    if (lockTmp ? !h.alive(Number(lockTmp[1])) : LEFTOVER.test(n)) {
      await h.fs.rm(`${dir}/${n}`, { recursive: true, force: true });
    }
  }
  const ckpt = `${dir}/checkpoints`;
  const names = await h.fs.readdir(ckpt).catch(() => [] as string[]);
  for (const n of names.filter((n) => /\.(tmp|old)-/.test(n))) {
    await h.fs.rm(`${ckpt}/${n}`, { recursive: true, force: true });
  }
}

/**
 * `write`, with a failure (disk full, permissions) reported as an error naming `path`; the atomic
 * writes leave the previous version in place.
 */
export async function writing<T>(path: string, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    throw new Error(`train: cannot write ${path}: ${(err as Error).message}`);
  }
}

/** Replaces one file atomically (temp file + rename) inside an existing directory; errors name it. */
export async function writeRunFile(dir: string, name: string, text: string): Promise<void> {
  const { fs } = await runDirHost();
  const tmp = `${dir}/.${name}.tmp-${Math.random().toString(36).slice(2, 8)}`;
  await writing(
    `${dir}/${name}`,
    (async () => {
      try {
        await fs.writeFile(tmp, text);
        await fs.rename(tmp, `${dir}/${name}`);
      } catch (err) {
        await fs.rm(tmp, { force: true });
        throw err;
      }
    })(),
  );
}

const METRICS_FILE = "metrics.jsonl";

/** metrics.jsonl for `history`: one JSON line per epoch. */
function metricsText(history: EpochMetrics[]): string {
  return history.map((m) => JSON.stringify(m) + "\n").join("");
}

/** Replaces `dir/metrics.jsonl` with `history`, one JSON line per epoch (atomically). */
export function writeMetrics(dir: string, history: EpochMetrics[]): Promise<void> {
  return writeRunFile(dir, METRICS_FILE, metricsText(history));
}

/**
 * Rewrites `dir/metrics.jsonl` from a resumed checkpoint's `history` when it says something else,
 * telling `warn`: a kill between a checkpoint and the metrics write leaves it an epoch short, and a
 * damaged newest checkpoint skipped on resume leaves it an epoch ahead.
 */
export async function repairMetrics(
  dir: string,
  history: EpochMetrics[],
  warn: (message: string) => void,
): Promise<void> {
  const { fs } = await runDirHost();
  const path = `${dir}/${METRICS_FILE}`;
  const text = await fs.readFile(path, "utf8").catch(() => undefined);
  const expected = metricsText(history);
  if (text === expected) return;
  const lines = text === undefined ? "missing" : `${text.split("\n").filter((l) => l !== "").length} line(s)`;
  await writeRunFile(dir, METRICS_FILE, expected);
  warn(
    `resume: ${path} (${lines}) did not match the checkpoint's ${history.length} epoch(s); rewritten from it`,
  );
}

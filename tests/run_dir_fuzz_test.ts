/**
 * Property test of run directories (seeded; evaluation sizes 100, where a process-history-dependent
 * kernel route once made resume inexact): a run of 3 epochs is the reference; the states its
 * directory passes through are rebuilt and damaged — a kill after any file operation of epoch 2's end
 * (a partial file at the operation killed), and single-byte edits of every file of the newest
 * checkpoint, of run.json and of metrics.jsonl. Resuming each to 3 epochs either refuses with an error
 * naming the file, or continues exactly: the final weights and every metrics line (timings aside)
 * equal the uninterrupted run's, byte for byte.
 */
import assert from "node:assert/strict";
import { ClutteredMnist, loadMnist, selectBackend, train, type TrainOptions } from "../mod.ts";
import { prng } from "./_random.ts";
import { TINY, tinyModel, weightArrays } from "./_models.ts";

const SEED = 28;
const EDITS_PER_FILE = 3;
const KILLS = 8;

const mnist = await loadMnist();
const data = new ClutteredMnist(mnist, { seed: 3, sizes: { train: 48, valid: 100, test: 100 } });
const OPTS: TrainOptions = {
  epochs: 3,
  batchSize: 16,
  trainEvalSize: 16,
  schedule: "cosine",
  log: null,
  progress: false,
};
const RUN_INFO = {
  model: "cnn",
  modelConfig: { ...TINY.cnn, seed: 7 },
  data: { seed: 3, sizes: data.config.sizes },
};

type Files = Map<string, Uint8Array>;

/** Every file under `dir` but the lock (relative path → bytes). */
async function readTree(dir: string, prefix = ""): Promise<Files> {
  const out: Files = new Map();
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory) { for (const [k, v] of await readTree(dir, `${rel}/`)) out.set(k, v); }
    else if (e.name !== "run.lock") out.set(rel, await Deno.readFile(`${dir}/${rel}`));
  }
  return out;
}

async function writeTree(dir: string, files: Files): Promise<void> {
  for (const [rel, bytes] of files) {
    await Deno.mkdir(`${dir}/${rel.slice(0, rel.lastIndexOf("/") + 1)}`, { recursive: true });
    await Deno.writeFile(`${dir}/${rel}`, bytes);
  }
}

/** metrics.jsonl without the timings (the only fields two runs may differ in). */
function metricsWithoutTimings(text: string): unknown[] {
  return text.trim().split("\n").map((line) => {
    const { seconds: _, samplesPerSec: __, ...rest } = JSON.parse(line);
    return rest;
  });
}

const same = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/** A file operation of the end of an epoch, as train() performs them, in order. */
type Op = { write: string; bytes: Uint8Array } | { rename: string; to: string } | { remove: string };

/** Epoch 2's end: from the files after epoch 1 (`s1`) to those after epoch 2 (`s2`). */
function epochEndOps(s1: Files, s2: Files): Op[] {
  const ops: Op[] = [];
  const dirWrite = (dir: string, names: string[], from: string) => {
    for (const n of names) ops.push({ write: `${dir}/${n}`, bytes: s2.get(`${from}/${n}`)! });
  };
  if (!same(s1.get("best/weights.bin"), s2.get("best/weights.bin"))) {
    dirWrite("best.tmp-k1", ["model.json", "weights.bin", "manifest.json"], "best");
    ops.push({ rename: "best", to: "best.old-k1" }, { rename: "best.tmp-k1", to: "best" });
    ops.push({ remove: "best.old-k1" });
  }
  const ckpt = "checkpoints/epoch-0002";
  dirWrite(
    `${ckpt}.tmp-k2`,
    ["model.json", "weights.bin", "optimizer.bin", "state.json", "manifest.json"],
    ckpt,
  );
  ops.push({ rename: `${ckpt}.tmp-k2`, to: ckpt });
  ops.push({ write: ".metrics.jsonl.tmp-k3", bytes: s2.get("metrics.jsonl")! });
  ops.push({ rename: ".metrics.jsonl.tmp-k3", to: "metrics.jsonl" });
  return ops;
}

/** Applies the first `n` ops to `dir`, and a prefix of `partial` bytes of op `n` when it is a write. */
async function killAfter(dir: string, ops: Op[], n: number, partial: number): Promise<void> {
  for (const op of ops.slice(0, n)) {
    if ("write" in op) await writeTree(dir, new Map([[op.write, op.bytes]]));
    else if ("rename" in op) await Deno.rename(`${dir}/${op.rename}`, `${dir}/${op.to}`);
    else await Deno.remove(`${dir}/${op.remove}`, { recursive: true });
  }
  const next = ops[n];
  if (next && "write" in next) {
    await writeTree(
      dir,
      new Map([[next.write, next.bytes.subarray(0, Math.floor(partial * next.bytes.length))]]),
    );
  }
}

Deno.test({
  name: "fuzz: killed or single-byte-edited run directories resume exactly or refuse naming the file",
  sanitizeResources: false,
  fn: async () => {
    await selectBackend("wasm");
    const root = await Deno.makeTempDir({ prefix: "rnnspn-rundir-fuzz-" });
    // The reference, and snapshots of its directory after epochs 1 and 2.
    const snapshots: Files[] = [];
    const ref = tinyModel("cnn", 7);
    await train(ref, data, {
      ...OPTS,
      outDir: `${root}/ref`,
      runInfo: RUN_INFO,
      onEpoch: async () => void snapshots.push(await readTree(`${root}/ref`)),
    });
    const refWeights = weightArrays(ref);
    ref.dispose();
    const refMetrics = metricsWithoutTimings(await Deno.readTextFile(`${root}/ref/metrics.jsonl`));
    const [s1, s2] = snapshots;

    const rand = prng(SEED);
    const trials: { what: string; files: Files; after?: (dir: string) => Promise<void>; hashed?: string }[] =
      [];
    const ops = epochEndOps(s1, s2);
    for (let i = 0; i < KILLS; i++) {
      const n = Math.floor(rand() * (ops.length + 1));
      const partial = rand();
      trials.push({
        what: `kill after op ${n} of ${ops.length}`,
        files: s1,
        after: (d) => killAfter(d, ops, n, partial),
      });
    }
    const newest = "checkpoints/epoch-0002";
    const targets = ["manifest.json", "model.json", "weights.bin", "optimizer.bin", "state.json"]
      .map((n) => `${newest}/${n}`).concat(["run.json", "metrics.jsonl"]);
    for (const target of targets) {
      for (let e = 0; e < EDITS_PER_FILE; e++) {
        const bytes = s2.get(target)!.slice();
        const at = Math.floor(rand() * bytes.length);
        bytes[at] = (bytes[at] + 1 + Math.floor(rand() * 255)) % 256;
        const hashed = target.startsWith(newest) && !target.endsWith("manifest.json") ? target : undefined;
        trials.push({ what: `${target} byte ${at}`, files: new Map([...s2, [target, bytes]]), hashed });
      }
    }

    let refused = 0, continued = 0;
    for (const [i, trial] of trials.entries()) {
      const dir = `${root}/t${i}`;
      await writeTree(dir, trial.files);
      await trial.after?.(dir);
      const warnings: string[] = [];
      const warn = console.warn;
      console.warn = (m: string) => warnings.push(m);
      const model = tinyModel("cnn", 7);
      let error: Error | undefined;
      try {
        // As examples/train.ts does: the run's record comes from its run.json.
        let runInfo: Record<string, unknown> | undefined;
        try {
          runInfo = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
        } catch (err) {
          throw new Error(`run.json is not valid JSON: ${(err as Error).message}`);
        }
        await train(model, data, { ...OPTS, outDir: dir, resume: true, runInfo });
      } catch (err) {
        error = err as Error;
      } finally {
        console.warn = warn;
      }
      if (error) {
        refused++;
        const file = trial.what.split(" ")[0].split("/").pop()!;
        assert.ok(
          error.message.includes(file),
          `${trial.what}: refused without naming ${file}: ${error.message}`,
        );
      } else {
        continued++;
        assert.deepEqual(weightArrays(model), refWeights, `${trial.what}: weights differ from the reference`);
        const metrics = metricsWithoutTimings(await Deno.readTextFile(`${dir}/metrics.jsonl`));
        assert.deepEqual(metrics, refMetrics, `${trial.what}: metrics differ from the reference`);
        if (trial.hashed) {
          const name = trial.hashed.split("/").pop()!;
          assert.ok(
            warnings.some((w) => w.includes("epoch-0002") && w.includes(name)),
            `${trial.what}: the damaged file was not named: ${warnings.join(" | ")}`,
          );
        }
      }
      model.dispose();
      await Deno.remove(dir, { recursive: true });
    }
    assert.ok(continued > 0 && refused > 0, `${continued} continued, ${refused} refused`);
    await Deno.remove(root, { recursive: true });
  },
});

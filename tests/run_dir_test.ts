/**
 * Run directories: one trainer per directory (the lock, its stale takeover), no silent reuse of an
 * existing run (resume / overwrite), and what a killed run leaves behind cleaned at the next start.
 */
import assert from "node:assert/strict";
import { ClutteredMnist, loadMnist, selectBackend, train } from "../mod.ts";
import { LOCK_FILE, lockRunDir, openRunDir, runDirHost } from "../src/train/run_dir.ts";
import { tinyModel } from "./_models.ts";

const mnist = await loadMnist();
const small = new ClutteredMnist(mnist, { seed: 5, sizes: { train: 32, valid: 16, test: 16 } });
const quick = { epochs: 1, batchSize: 16, trainEvalSize: 16, skipTest: true, log: null, progress: false };

/** Every file under `dir` (relative path → bytes), to show that a refused call wrote nothing. */
async function snapshot(dir: string, prefix = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory) { for (const [k, v] of await snapshot(dir, `${rel}/`)) out.set(k, v); }
    else out.set(rel, Array.from(await Deno.readFile(`${dir}/${rel}`)).join(","));
  }
  return out;
}

/** The PID of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", ""], stdout: "null", stderr: "null" })
    .spawn();
  await child.status;
  return child.pid;
}

Deno.test("train(): an existing run is refused without resume/overwrite; overwrite starts over", async () => {
  await selectBackend("wasm");
  const out = await Deno.makeTempDir({ prefix: "rnnspn-rundir-" });
  const model = tinyModel("cnn");
  await train(model, small, { ...quick, epochs: 2, outDir: out });
  const before = await snapshot(out);
  assert.ok(before.has("checkpoints/epoch-0002/state.json"));
  await assert.rejects(
    () => train(model, small, { ...quick, learningRate: 1e-3, outDir: out }),
    new RegExp(`train: outDir ${out} already holds a run \\(.*checkpoints.*\\); pass resume .* or overwrite`),
  );
  assert.deepEqual(await snapshot(out), before);
  assert.ok(!(await snapshot(out)).has(LOCK_FILE), "the lock is released after a refusal");
  // Resuming with another learning rate would continue the old weights under a new recipe.
  await assert.rejects(
    () => train(model, small, { ...quick, epochs: 3, learningRate: 1e-3, outDir: out, resume: true }),
    /resume: .*epoch-0002 was trained with learningRate 0\.0005, not learningRate 0\.001/,
  );
  assert.deepEqual(await snapshot(out), before);
  const result = await train(model, small, { ...quick, learningRate: 1e-3, outDir: out, overwrite: true });
  assert.equal(result.history.length, 1);
  const after = await snapshot(out);
  assert.ok(!after.has("checkpoints/epoch-0002/state.json"), "overwrite removes the old checkpoints");
  assert.ok(after.has("checkpoints/epoch-0001/state.json"));
  const state = JSON.parse(await Deno.readTextFile(`${out}/checkpoints/epoch-0001/state.json`));
  assert.equal(state.learningRate, 1e-3);
  assert.ok(!after.has(LOCK_FILE));
  model.dispose();
  await Deno.remove(out, { recursive: true });
});

Deno.test("train(): outDir naming a file is an error naming it; nothing is written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnspn-rundir-" });
  await Deno.writeTextFile(`${dir}/file`, "x");
  const model = tinyModel("cnn");
  await assert.rejects(
    () => train(model, small, { ...quick, outDir: `${dir}/file` }),
    new RegExp(`train: outDir ${dir}/file exists and is not a directory`),
  );
  assert.equal(await Deno.readTextFile(`${dir}/file`), "x");
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("two trainers on one run directory: the second fails at once naming the lock and its holder", async () => {
  await selectBackend("wasm");
  const out = await Deno.makeTempDir({ prefix: "rnnspn-rundir-" });
  const a = tinyModel("cnn"), b = tinyModel("cnn");
  const first = train(a, small, { ...quick, epochs: 2, outDir: out });
  // The first holds the lock once its directory is open; wait for the lock file to appear.
  for (let i = 0; i < 200 && !(await Deno.stat(`${out}/${LOCK_FILE}`).then(() => true, () => false)); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const t0 = performance.now();
  await assert.rejects(
    () => train(b, small, { ...quick, outDir: out, resume: true }),
    new RegExp(`train: ${out} is in use by process ${Deno.pid} on host .*: lock file ${out}/${LOCK_FILE}`),
  );
  assert.ok(performance.now() - t0 < 1000, "refused before any work");
  const result = await first;
  assert.equal(result.history.length, 2, "the first trainer is not disturbed");
  a.dispose();
  b.dispose();
  await Deno.remove(out, { recursive: true });
});

Deno.test("a stale lock (dead PID on this host) is taken over with a warning; another host's is not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnspn-rundir-" });
  const host = (await import("node:os")).hostname();
  const pid = await deadPid();
  await Deno.writeTextFile(`${dir}/${LOCK_FILE}`, JSON.stringify({ pid, host, started: "then" }));
  const warnings: string[] = [];
  const release = await lockRunDir(dir, (w) => warnings.push(w));
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    new RegExp(`taking over the stale lock .*${LOCK_FILE} of process ${pid} on host`),
  );
  assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/${LOCK_FILE}`)).pid, Deno.pid);
  await release();
  assert.ok(!(await snapshot(dir)).has(LOCK_FILE));

  await Deno.writeTextFile(
    `${dir}/${LOCK_FILE}`,
    JSON.stringify({ pid, host: "elsewhere", started: "then" }),
  );
  await assert.rejects(
    () => lockRunDir(dir, () => {}),
    new RegExp(`in use by process ${pid} on host elsewhere .*remove it if that process no longer runs`),
  );
  await Deno.writeTextFile(`${dir}/${LOCK_FILE}`, "{trunc");
  await assert.rejects(() => lockRunDir(dir, () => {}), /run\.lock exists but is not a lock file/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("leftovers of a killed run are cleaned and a best/ caught between its renames is restored", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnspn-rundir-" });
  // As left by a kill after `best → best.old-X`, before `best.tmp-X → best`.
  await Deno.mkdir(`${dir}/best.old-aa`);
  await Deno.writeTextFile(`${dir}/best.old-aa/model.json`, "previous");
  await Deno.mkdir(`${dir}/best.tmp-aa`);
  await Deno.writeTextFile(`${dir}/best.tmp-aa/model.json`, "new");
  await Deno.mkdir(`${dir}/checkpoints/epoch-0003.tmp-bb`, { recursive: true });
  await Deno.mkdir(`${dir}/checkpoints/epoch-0002`);
  await Deno.writeTextFile(`${dir}/.metrics.jsonl.tmp-cc`, "half");
  await Deno.writeTextFile(`${dir}/.${LOCK_FILE}.tmp-${await deadPid()}-dd`, "{}");
  await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
  const warnings: string[] = [];
  const release = await openRunDir(dir, { resume: true, overwrite: false, warn: (w) => warnings.push(w) });
  assert.deepEqual(
    [...(await snapshot(dir)).keys()].sort(),
    ["best/model.json", "notes.txt", LOCK_FILE].sort(),
  );
  assert.equal(await Deno.readTextFile(`${dir}/best/model.json`), "previous");
  assert.match(warnings.join("\n"), /restored .*best from best\.old-aa/);
  await release();
  // checkpoints/epoch-0002 is an empty dir (no files), so it is absent from the snapshot but kept.
  assert.ok((await Deno.stat(`${dir}/checkpoints/epoch-0002`)).isDirectory);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train(): a failed write (here checkpoints/ is a file) is an error naming the path", async () => {
  await selectBackend("wasm");
  const out = await Deno.makeTempDir({ prefix: "rnnspn-rundir-" });
  await Deno.writeTextFile(`${out}/checkpoints`, "in the way");
  const model = tinyModel("cnn");
  await assert.rejects(
    () => train(model, small, { ...quick, outDir: out, resume: true }),
    new RegExp(`train: cannot write ${out}/checkpoints: `),
  );
  assert.equal(await Deno.readTextFile(`${out}/checkpoints`), "in the way");
  assert.ok(!(await snapshot(out)).has(LOCK_FILE), "the lock is released after a failure");
  model.dispose();
  await Deno.remove(out, { recursive: true });
});

Deno.test("without hard links (EPERM from link) the lock is an exclusive create; still one holder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnspn-rundir-" });
  const real = await runDirHost();
  const noLinks = {
    ...real,
    fs: {
      ...real.fs,
      link: () => Promise.reject(Object.assign(new Error("link: not supported"), { code: "EPERM" })),
    },
  } as typeof real;
  const release = await lockRunDir(dir, () => {}, noLinks);
  assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/${LOCK_FILE}`)).pid, Deno.pid);
  await assert.rejects(() => lockRunDir(dir, () => {}, noLinks), /is in use by process/);
  await release();
  assert.deepEqual([...(await snapshot(dir)).keys()], [], "lock and temp files removed");
  await Deno.remove(dir, { recursive: true });
});

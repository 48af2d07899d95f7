import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import {
  ClutteredMnist,
  CnnBaseline,
  loadMnist,
  loadModel,
  type ModelKind,
  RecurrentAttention,
  selectBackend,
  SpnBaseline,
  train,
  type TrainOptions,
} from "../mod.ts";
import { listCheckpoints, loadCheckpoint } from "../src/train/checkpoint.ts";
import { createOptimizer } from "../src/train/optimizer.ts";
import { maxDiff, tinyModel, weightArrays } from "./_models.ts";

const mnist = await loadMnist();
const small = new ClutteredMnist(mnist, { seed: 9, sizes: { train: 64, valid: 32, test: 32 } });
const tmp = (prefix: string) => Deno.makeTempDir({ prefix: `rnnspn-${prefix}-` });

async function testImages(): Promise<tf.Tensor4D> {
  const it = small.batches("test", 4, { shuffle: false })[Symbol.asyncIterator]();
  const { images, labels } = (await it.next()).value!;
  labels.dispose();
  return images;
}

const CLASSES = { "rnn-spn": RecurrentAttention, spn: SpnBaseline, cnn: CnnBaseline } as const;

for (const kind of ["rnn-spn", "spn", "cnn"] as ModelKind[]) {
  Deno.test(`${kind}: save → load gives identical predictions; the files are a standard tfjs LayersModel`, async () => {
    await selectBackend("cpu");
    const dir = await tmp("save");
    const model = tinyModel(kind, 21);
    const images = await testImages();
    const a = model.predict(images);
    await model.save(`${dir}/m`);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/m/model.json`));
    assert.equal(json.format, "layers-model");
    assert.deepEqual(json.weightsManifest[0].paths, ["./weights.bin"]);
    assert.equal((await Deno.stat(`${dir}/m/weights.bin`)).size, model.countParams() * 4);
    // The class's own load, the kind-agnostic loadModel, and tfjs's HTTP loader (what a browser uses) over
    // a file: URL — all three must give the same model.
    const loaded = await CLASSES[kind].load(`${dir}/m`);
    const any = await loadModel(`${dir}/m`, { accept: "rnnspn" });
    assert.equal(any.kind, kind);
    assert.deepEqual(any.config, model.config);
    const viaHttp = await tf.loadLayersModel(
      tf.io.http(new URL(`file://${dir}/m/model.json`).href, { fetchFunc: fetch }),
    );
    for (const m of [loaded, any]) {
      const b = m.predict(images);
      assert.deepEqual(b.logits.dataSync(), a.logits.dataSync());
      if (a.theta) assert.deepEqual(b.theta!.dataSync(), a.theta.dataSync());
      tf.dispose([b.logits, b.probabilities, b.digits, b.theta ?? []]);
      m.dispose();
    }
    const raw = viaHttp.predict(images) as tf.Tensor | tf.Tensor[];
    assert.deepEqual((Array.isArray(raw) ? raw[0] : raw).dataSync(), a.logits.dataSync());
    tf.dispose([raw, a.logits, a.probabilities, a.digits, a.theta ?? [], images]);
    viaHttp.dispose();
    model.dispose();
    // Loading as the wrong class is an error that names both kinds.
    const other = kind === "cnn" ? SpnBaseline : CnnBaseline;
    await assert.rejects(() => other.load(`${dir}/m`), new RegExp(`holds a "${kind}" model`));
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("a truncated or corrupt weights.bin / model.json gives an error naming the file", async () => {
  await selectBackend("cpu");
  const dir = await tmp("corrupt");
  const model = tinyModel("spn");
  await model.save(`${dir}/m`);
  const weights = await Deno.readFile(`${dir}/m/weights.bin`);
  await Deno.writeFile(`${dir}/m/weights.bin`, weights.subarray(0, weights.length - 100));
  await assert.rejects(
    () => SpnBaseline.load(`${dir}/m`),
    /weights\.bin has \d+ bytes but model\.json records \d+ \(truncated\?\)/,
  );
  const flipped = weights.slice();
  flipped[10] ^= 0xff;
  await Deno.writeFile(`${dir}/m/weights.bin`, flipped);
  await assert.rejects(() => SpnBaseline.load(`${dir}/m`), /weights\.bin is corrupt: SHA-256/);
  const text = await Deno.readTextFile(`${dir}/m/model.json`);
  await Deno.writeTextFile(`${dir}/m/model.json`, text.slice(0, text.length / 2));
  // The manifest names the damage before model.json is parsed; without one, the parser does.
  await assert.rejects(
    () => SpnBaseline.load(`${dir}/m`),
    /model\.json has \d+ bytes but manifest\.json records \d+ \(truncated\?\)/,
  );
  await Deno.remove(`${dir}/m/manifest.json`);
  await assert.rejects(
    () => SpnBaseline.load(`${dir}/m`),
    /model\.json is not valid JSON \(truncated or corrupt/,
  );
  await assert.rejects(() => SpnBaseline.load(`${dir}/missing`), /cannot read .*missing\/model\.json/);
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

const OPTS: TrainOptions = { batchSize: 16, trainEvalSize: 16, skipTest: true, log: null, progress: false };

Deno.test({
  name:
    "resume after an epoch interrupted mid-way continues the same run: weights equal an uninterrupted run",
  fn: async () => {
    await selectBackend("wasm");
    // Reference: 3 epochs straight through (with the paper's schedule compressed so lr changes each epoch).
    const schedule = { schedule: "cosine" as const, epochs: 3 };
    const refDir = await tmp("ref");
    const ref = tinyModel("rnn-spn", 4);
    const refResult = await train(ref, small, { ...OPTS, ...schedule, outDir: refDir });
    // Interrupted: abort during epoch 2 (after 2 of its 4 batches), as a crash would.
    const dir = await tmp("resume");
    const controller = new AbortController();
    const first = tinyModel("rnn-spn", 4);
    const partial = await train(first, small, {
      ...OPTS,
      ...schedule,
      outDir: dir,
      signal: controller.signal,
      onBatch: ({ epoch, batch }) => {
        if (epoch === 2 && batch === 2) controller.abort();
      },
    });
    assert.equal(partial.stopped, "aborted");
    assert.equal(partial.epoch, 1); // epoch 2 was not completed, so not checkpointed
    first.dispose();
    // A new process: fresh model object, resume from the directory.
    const resumed = tinyModel("rnn-spn", 4);
    const result = await train(resumed, small, { ...OPTS, ...schedule, outDir: dir, resume: true });
    assert.equal(result.epoch, 3);
    assert.deepEqual(result.history.map((m) => m.learningRate), refResult.history.map((m) => m.learningRate));
    assert.deepEqual(result.history.map((m) => m.trainLoss), refResult.history.map((m) => m.trainLoss));
    assert.equal(maxDiff(weightArrays(resumed), weightArrays(ref)), 0);
    // Optimizer state was restored, not re-initialised: the checkpoints' optimizer files are identical.
    const [a, b] = [
      await Deno.readFile(`${dir}/checkpoints/epoch-0003/optimizer.bin`),
      await Deno.readFile(
        `${refDir}/checkpoints/epoch-0003/optimizer.bin`,
      ),
    ];
    assert.deepEqual(a, b);
    ref.dispose();
    resumed.dispose();
    await Deno.remove(refDir, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("a truncated newest checkpoint is a clear error; the previous one still loads and resume uses it", async () => {
  await selectBackend("wasm");
  const dir = await tmp("trunc");
  const model = tinyModel("cnn", 2);
  await train(model, small, { ...OPTS, epochs: 2, outDir: dir });
  const dirs = await listCheckpoints(dir);
  assert.deepEqual(dirs.map((d) => d.split("/").at(-1)), ["epoch-0002", "epoch-0001"]);
  const weights = `${dirs[0]}/weights.bin`;
  const bytes = await Deno.readFile(weights);
  await Deno.writeFile(weights, bytes.subarray(0, 1000));
  const probe = tinyModel("cnn", 2);
  await assert.rejects(
    () => loadCheckpoint(dirs[0], probe, createOptimizer("rmsprop", 5e-4)),
    new RegExp(`${weights.replace(/[.]/g, "\\.")} has 1000 bytes but model\\.json records ${bytes.length}`),
  );
  const previous = await loadCheckpoint(dirs[1], probe, createOptimizer("rmsprop", 5e-4));
  assert.equal(previous.state.epoch, 1);
  // Truncated state.json and optimizer.bin are caught too.
  const state = `${dirs[1]}/state.json`;
  const stateText = await Deno.readTextFile(state);
  await Deno.writeTextFile(state, stateText.slice(0, 50));
  await assert.rejects(
    () => loadCheckpoint(dirs[1], probe, createOptimizer("rmsprop", 5e-4)),
    /state\.json has 50 bytes but manifest\.json records \d+ \(truncated\?\)/,
  );
  // One digit of state.json changed (nextEpoch 2 → 4 would skip two epochs): its SHA-256 catches it.
  const edited = stateText.replace('"nextEpoch":2', '"nextEpoch":4');
  assert.notEqual(edited, stateText);
  await Deno.writeTextFile(state, edited);
  await assert.rejects(
    () => loadCheckpoint(dirs[1], probe, createOptimizer("rmsprop", 5e-4)),
    /state\.json is corrupt: SHA-256 [0-9a-f]+ != [0-9a-f]+ recorded in manifest\.json/,
  );
  await Deno.writeTextFile(state, stateText);
  const opt = `${dirs[1]}/optimizer.bin`;
  const optBytes = await Deno.readFile(opt);
  await Deno.writeFile(opt, optBytes.subarray(0, 8));
  await assert.rejects(
    () => loadCheckpoint(dirs[1], probe, createOptimizer("rmsprop", 5e-4)),
    /optimizer\.bin has 8 bytes but manifest\.json records \d+/,
  );
  await Deno.writeFile(opt, optBytes);
  // Resume skips the damaged epoch 2 (with a warning) and redoes it from epoch 1's checkpoint.
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => warnings.push(m);
  try {
    const result = await train(probe, small, { ...OPTS, epochs: 2, outDir: dir, resume: true });
    assert.equal(result.epoch, 2);
    assert.equal(result.history.length, 2);
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 2, warnings.join("\n"));
  assert.match(warnings[0], /resume: skipping .*epoch-0002: .*weights\.bin has 1000 bytes/);
  // metrics.jsonl held epoch 2 of the skipped checkpoint: rewritten from epoch 1's history.
  assert.match(
    warnings[1],
    /metrics\.jsonl \(2 line\(s\)\) did not match the checkpoint's 1 epoch\(s\); rewritten/,
  );
  // Intact checkpoints of another setup stop the resume, naming the field (no fallback to older ones).
  const other = new ClutteredMnist(mnist, { seed: 9, sizes: { train: 65, valid: 32, test: 32 } });
  await assert.rejects(
    () => train(probe, other, { ...OPTS, epochs: 3, outDir: dir, resume: true }),
    /resume: data\.train: 65 vs 64 \(this run's data vs the checkpoint .*epoch-0002\)/,
  );
  // A checkpoint written before its manifest covered state.json and optimizer.bin still loads, with a
  // warning; a manifest listing anything else is refused naming it.
  const newest = (await listCheckpoints(dir))[0];
  const manifest = JSON.parse(await Deno.readTextFile(`${newest}/manifest.json`));
  const { "model.json": m, "weights.bin": w, ...rest } = manifest.files;
  assert.deepEqual(Object.keys(rest).sort(), ["optimizer.bin", "state.json"]);
  await Deno.writeTextFile(
    `${newest}/manifest.json`,
    JSON.stringify({ ...manifest, files: { "model.json": m, "weights.bin": w } }),
  );
  const heard: string[] = [];
  const legacy = await loadCheckpoint(
    newest,
    probe,
    createOptimizer("rmsprop", 5e-4),
    {},
    (m) => heard.push(m),
  );
  assert.equal(legacy.state.epoch, 2);
  assert.match(
    heard.join(),
    /epoch-0002 predates checkpoints whose manifest covers state\.json and optimizer\.bin/,
  );
  await Deno.writeTextFile(
    `${newest}/manifest.json`,
    JSON.stringify({ ...manifest, files: { ...manifest.files, "x.bin": w } }),
  );
  await assert.rejects(
    () => loadCheckpoint(newest, probe, createOptimizer("rmsprop", 5e-4)),
    /manifest\.json lists model\.json, optimizer\.bin, state\.json, weights\.bin, x\.bin/,
  );
  model.dispose();
  probe.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "CLI: a training run killed with SIGKILL mid-epoch resumes with --resume and loses only that epoch",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await tmp("cli");
    const deno = Deno.execPath();
    const script = new URL("../examples/train.ts", import.meta.url).pathname;
    const flags = [
      "--train-size",
      "300",
      "--valid-size",
      "50",
      "--test-size",
      "50",
      "--train-eval-size",
      "50",
    ];
    const help = await new Deno.Command(deno, { args: ["run", "-A", script, "--help"] })
      .output();
    assert.equal(help.code, 0);
    for (
      const flag of [
        "--model",
        "--downsample",
        "--epochs",
        "--batch",
        "--lr",
        "--optimizer",
        "--backend",
        "--resume",
      ]
    ) {
      assert.match(new TextDecoder().decode(help.stdout), new RegExp(flag));
    }
    const child = new Deno.Command(deno, {
      args: ["run", "-A", script, "--epochs", "3", "--out", dir, ...flags],
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Kill it once epoch 1's checkpoint exists, i.e. during epoch 2.
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if ((await listCheckpoints(dir)).length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    const status = await child.status;
    assert.equal(status.signal, "SIGKILL");
    const left = await listCheckpoints(dir);
    assert.ok(left.length >= 1 && left.length <= 2, `checkpoints after the kill: ${left}`);
    const resumed = await new Deno.Command(deno, {
      args: ["run", "-A", script, "--resume", dir],
    })
      .output();
    const out = new TextDecoder().decode(resumed.stdout);
    assert.equal(resumed.code, 0, new TextDecoder().decode(resumed.stderr));
    assert.match(out, /resumed from .*epoch-000[12]/);
    assert.match(out, /done \(epochs\) after epoch 3/);
    const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(lines.map((m) => m.epoch), [1, 2, 3]);
    await selectBackend("cpu");
    const best = await loadModel(`${dir}/best`, { accept: "rnnspn" });
    assert.equal(best.kind, "rnn-spn");
    best.dispose();
    await Deno.remove(dir, { recursive: true });
  },
});

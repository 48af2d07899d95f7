// Data-parallel training from Node (node:worker_threads): one step on the main thread + 1 Worker
// equals the single-process step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { lib } from "./_helpers.mjs";

const { tf, createModel, DataParallelStep, selectBackend } = lib;
const CONFIG = {
  locFilters: 4,
  gruUnits: 16,
  classifierFilters: 6,
  denseUnits: 32,
  downsampleFactor: 3,
  seed: 3,
};
const BATCH = 7; // shards of 4 and 3 rows: the weighting by shard size matters

async function oneStep(workers) {
  const model = createModel("rnn-spn", CONFIG);
  const optimizer = tf.train.rmsprop(1e-3, 0.9, 0, 1e-6);
  const images = tf.randomUniform([BATCH, 100, 100, 1], 0, 1, "float32", 11);
  const labels = tf.tidy(() => tf.floor(tf.randomUniform([BATCH, 3], 0, 10, "float32", 12)).toInt());
  const before = model.model.getWeights().map((w) => Array.from(w.dataSync()));
  const step = await DataParallelStep.create(model, { workers });
  assert.equal(step.workers, workers);
  const loss = await step.step(optimizer, images, labels);
  const result = {
    loss: (await loss.data())[0],
    weights: model.model.getWeights().map((w) => Array.from(w.dataSync())),
    before,
  };
  step.dispose();
  tf.dispose([loss, images, labels]);
  optimizer.dispose();
  model.dispose();
  return result;
}

test("DataParallelStep with 2 workers (node:worker_threads) equals the single-process step (wasm)", async () => {
  await selectBackend("wasm");
  const single = await oneStep(1);
  const parallel = await oneStep(2);
  assert.deepEqual(parallel.before, single.before, "both start from the same seeded weights");
  const rel = Math.abs(parallel.loss - single.loss) / Math.abs(single.loss);
  assert.ok(rel < 1e-5, `loss ${parallel.loss} vs ${single.loss} (rel ${rel})`);
  let moved = 0;
  parallel.weights.forEach((w, i) => {
    let diff = 0, scale = 0;
    w.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(v - single.weights[i][j]));
      scale = Math.max(scale, Math.abs(single.weights[i][j]));
      moved = Math.max(moved, Math.abs(v - single.before[i][j]));
    });
    assert.ok(diff <= 1e-5 * scale, `weight ${i}: differs by ${diff} (largest |w| ${scale})`);
  });
  assert.ok(moved > 1e-4, "the step changed the weights");
});

test("train({ workers: 2, outDir }) in Node gives the epoch of train({ workers: 1 })", async () => {
  const { ClutteredMnist, loadMnist, train } = lib;
  const { mkdtemp, readdir, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  await selectBackend("wasm");
  const mnist = await loadMnist({ dir: process.env.MNIST_DIR ?? "../shared/mnist" });
  const data = new ClutteredMnist(mnist, { seed: 5, sizes: { train: 30, valid: 10, test: 10 } });
  const dir = await mkdtemp(join(tmpdir(), "rnnspn-node-train-"));
  try {
    const run = async (workers) => {
      const model = createModel("spn", {
        locFilters: 4,
        locDenseUnits: 16,
        classifierFilters: 6,
        denseUnits: 32,
        downsampleFactor: 3,
        seed: 3,
      });
      const outDir = join(dir, `workers-${workers}`);
      const options = {
        epochs: 1,
        batchSize: 15,
        skipTest: true,
        log: null,
        progress: false,
        workers,
        outDir,
      };
      const { history } = await train(model, data, options);
      const weights = model.model.getWeights().map((w) => Array.from(w.dataSync()));
      model.dispose();
      return { loss: history[0].trainLoss, weights, files: await readdir(outDir) };
    };
    const one = await run(1);
    const two = await run(2);
    assert.ok(Math.abs(one.loss - two.loss) < 1e-5 * one.loss, `train loss ${one.loss} vs ${two.loss}`);
    let diff = 0;
    one.weights.forEach((w, i) =>
      w.forEach((v, j) => diff = Math.max(diff, Math.abs(v - two.weights[i][j])))
    );
    assert.ok(diff < 1e-5, `weights differ by ${diff}`);
    assert.ok(two.files.length > 0, "train wrote its run directory");
    assert.deepEqual(two.files.sort(), one.files.sort());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * `DataParallelStep` (src/train/data_parallel.ts): the main thread plus one Worker, each on half the
 * batch, gradients summed, one shared update — three steps give the same losses and weights as the
 * single-process `trainStep`; no tensor leaks on the main thread; `dispose` terminates the Workers.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { ClutteredMnist, loadMnist, type ModelKind, selectBackend, train } from "../mod.ts";
import { DataParallelStep } from "../src/train/data_parallel.ts";
import { createOptimizer } from "../src/train/optimizer.ts";
import { fusedUpdate } from "../src/train/fused_update.ts";
import { trainStep } from "../src/train/step.ts";
import { maxDiff, tinyModel, weightArrays } from "./_models.ts";

const BATCH = 7; // odd: shards of 4 and 3 rows, so the weighting by shard size matters
const STEPS = 3;

/** Worker whose terminations are counted (installed as `globalThis.Worker` while creating). */
let terminated = 0;
class CountingWorker extends Worker {
  override terminate(): void {
    terminated++;
    super.terminate();
  }
}

function batchOf(step: number, steps: number): { images: tf.Tensor4D; labels: tf.Tensor2D } {
  return {
    images: tf.randomUniform([BATCH, 100, 100, 1], 0, 1, "float32", 10 + step) as tf.Tensor4D,
    labels: tf.tidy(() =>
      tf.floor(tf.randomUniform([BATCH, steps], 0, 10, "float32", 20 + step)).toInt()
    ) as tf.Tensor2D,
  };
}

interface Run {
  losses: number[];
  weights: Float32Array[];
}

async function single(kind: ModelKind): Promise<Run> {
  const model = tinyModel(kind);
  const optimizer = createOptimizer("rmsprop", 1e-3);
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const { images, labels } = batchOf(s, model.steps);
    const loss = trainStep(model, optimizer, images, labels);
    losses.push((await loss.data())[0]);
    tf.dispose([loss, images, labels]);
  }
  const weights = weightArrays(model);
  optimizer.dispose();
  model.dispose();
  return { losses, weights };
}

async function parallel(kind: ModelKind): Promise<Run & { leaked: number }> {
  const model = tinyModel(kind);
  const optimizer = createOptimizer("rmsprop", 1e-3);
  const original = globalThis.Worker;
  globalThis.Worker = CountingWorker;
  let dp: DataParallelStep;
  try {
    dp = await DataParallelStep.create(model, { workers: 2 });
  } finally {
    globalThis.Worker = original;
  }
  assert.equal(dp.workers, 2);
  const losses: number[] = [];
  let before = 0;
  for (let s = 0; s < STEPS; s++) {
    // After the first step the optimizer's accumulators exist: from then on the count must stay flat.
    if (s === 1) before = tf.memory().numTensors;
    const { images, labels } = batchOf(s, model.steps);
    const loss = await dp.step(optimizer, images, labels);
    losses.push((await loss.data())[0]);
    tf.dispose([loss, images, labels]);
  }
  const leaked = tf.memory().numTensors - before;
  const weights = weightArrays(model);
  const terminatedBefore = terminated;
  dp.dispose();
  assert.equal(terminated - terminatedBefore, 1, "dispose terminates the one Worker");
  await assert.rejects(async () => {
    const { images, labels } = batchOf(0, model.steps);
    try {
      await dp.step(optimizer, images, labels);
    } finally {
      tf.dispose([images, labels]);
    }
  }, /already disposed/);
  optimizer.dispose();
  model.dispose();
  return { losses, weights, leaked };
}

function assertClose(kind: ModelKind, a: Run, b: Run): void {
  a.losses.forEach((l, i) => {
    const rel = Math.abs(l - b.losses[i]) / Math.abs(b.losses[i]);
    assert.ok(rel < 1e-5, `${kind} step ${i + 1}: loss ${l} vs single-process ${b.losses[i]} (rel ${rel})`);
  });
  a.weights.forEach((w, i) => {
    let diff = 0, scale = 0;
    w.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(v - b.weights[i][j]));
      scale = Math.max(scale, Math.abs(b.weights[i][j]));
    });
    assert.ok(diff <= 1e-5 * scale, `${kind} weight ${i}: differs by ${diff} (largest |w| ${scale})`);
  });
}

for (const kind of ["rnn-spn", "spn"] as const) {
  Deno.test(`DataParallelStep (2 workers, wasm) equals trainStep over ${STEPS} steps: ${kind}`, async () => {
    await selectBackend("wasm");
    const reference = await single(kind);
    const dp = await parallel(kind);
    assert.equal(dp.leaked, 0, `main thread leaked ${dp.leaked} tensors over steps 2–${STEPS}`);
    assertClose(kind, dp, reference);
    // The weights moved (else equal weights would prove nothing).
    const fresh = tinyModel(kind);
    const initial = weightArrays(fresh);
    fresh.dispose();
    assert.ok(maxDiff(initial, dp.weights) > 1e-4, "the updates changed the weights");
  });
}

Deno.test("DataParallelStep: workers must be a positive integer, named in the error", async () => {
  await selectBackend("wasm");
  const model = tinyModel("spn");
  try {
    await assert.rejects(
      () => DataParallelStep.create(model, { workers: 0 }),
      /workers must be a positive integer; got 0/,
    );
  } finally {
    model.dispose();
  }
});

Deno.test("train({ workers: 2 }) gives the epoch of train({ workers: 1 }); bad values are named", async () => {
  await selectBackend("wasm");
  const data = new ClutteredMnist(await loadMnist(), { seed: 5, sizes: { train: 30, valid: 10, test: 10 } });
  const run = async (workers: number) => {
    const model = tinyModel("spn");
    const options = { epochs: 1, batchSize: 15, skipTest: true, log: null, progress: false, workers };
    const { history } = await train(model, data, options);
    const weights = weightArrays(model);
    model.dispose();
    return { loss: history[0].trainLoss, weights };
  };
  const one = await run(1);
  const two = await run(2);
  assert.ok(Math.abs(one.loss - two.loss) < 1e-5 * one.loss, `train loss ${one.loss} vs ${two.loss}`);
  assert.ok(
    maxDiff(one.weights, two.weights) < 1e-5,
    `weights differ by ${maxDiff(one.weights, two.weights)}`,
  );
  const model = tinyModel("spn");
  try {
    await assert.rejects(
      () => train(model, data, { workers: 1.5, log: null }),
      /workers must be a positive integer/,
    );
    await assert.rejects(
      () => train(model, data, { workers: 2, microBatch: 5, log: null }),
      /workers > 1 does not combine with microBatch/,
    );
  } finally {
    model.dispose();
  }
});

/** `STEPS` data-parallel steps; before the last, every weight is halved behind the class's back. */
async function parallelWithEdit(kind: ModelKind, fused: boolean): Promise<Run> {
  fusedUpdate.enabled = fused;
  const model = tinyModel(kind);
  const optimizer = createOptimizer("rmsprop", 1e-3);
  const dp = await DataParallelStep.create(model, { workers: 2 });
  try {
    const losses: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      if (s === STEPS - 1) {
        for (const w of model.model.trainableWeights) {
          const v = w.read() as tf.Variable;
          tf.tidy(() => v.assign(tf.mul(v, 0.5)));
        }
      }
      const { images, labels } = batchOf(s, model.steps);
      const loss = await dp.step(optimizer, images, labels);
      losses.push((await loss.data())[0]);
      tf.dispose([loss, images, labels]);
    }
    return { losses, weights: weightArrays(model) };
  } finally {
    fusedUpdate.enabled = true;
    dp.dispose();
    optimizer.dispose();
    model.dispose();
  }
}

Deno.test("DataParallelStep: the fused update equals tfjs's path bitwise; weights changed between steps reach the Worker", async () => {
  await selectBackend("wasm");
  const fused = await parallelWithEdit("rnn-spn", true);
  const unfused = await parallelWithEdit("rnn-spn", false);
  assert.deepEqual(fused.losses, unfused.losses);
  fused.weights.forEach((w, i) => assert.deepEqual(w, unfused.weights[i], `weight ${i}`));
});

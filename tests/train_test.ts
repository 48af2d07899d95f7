import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import {
  clipGradients,
  ClutteredMnist,
  learningRateAt,
  loadMnist,
  type ModelKind,
  selectBackend,
  train,
} from "../mod.ts";
import { createOptimizer } from "../src/train/optimizer.ts";
import { progressLine } from "../src/train/progress.ts";
import { trainStep } from "../src/train/step.ts";
import { tinyModel } from "./_models.ts";

// Training tests run on wasm: tfjs-cpu's Conv2DBackpropFilter takes seconds per step even for these tiny
// models (the one-step parity test in models_test.ts ties wasm to cpu).
const mnist = await loadMnist();
const small = new ClutteredMnist(mnist, { seed: 5, sizes: { train: 64, valid: 32, test: 32 } });

async function firstBatch(ds: ClutteredMnist, size: number) {
  const it = ds.batches("train", size, { shuffle: false })[Symbol.asyncIterator]();
  return (await it.next()).value!;
}

Deno.test("paper schedule: the authors' loop (rnn_spn.py) transcribed, epoch by epoch for 300 epochs", () => {
  const o = { learningRate: 5e-4, epochs: 300 };
  // Their loop as written: the rate the next epoch trains at is set after each 0-based epoch.
  let lr = 5e-4, lastDecay = 0;
  for (let epoch = 0; epoch < 300; epoch++) {
    const got = learningRateAt(epoch + 1, o);
    assert.ok(Math.abs(got - lr) <= 1e-12 * lr, `1-based epoch ${epoch + 1}: ${got} vs ${lr}`);
    if (lastDecay > 10 && epoch > 30) {
      lastDecay = 0;
      lr = lr / 1.5;
    } else {
      lastDecay += 1;
    }
  }
  // The first decays fall on epochs 33, 45, 57 (not 31, 41, 51: that is "step").
  assert.equal(learningRateAt(32, o), 5e-4);
  assert.equal(learningRateAt(33, o), 5e-4 / 1.5);
  assert.equal(learningRateAt(44, o), 5e-4 / 1.5);
  assert.equal(learningRateAt(45, o), 5e-4 / 1.5 ** 2);
  assert.equal(learningRateAt(57, o), 5e-4 / 1.5 ** 3);
  assert.equal(learningRateAt(300, o), 5e-4 / 1.5 ** 23);
});

Deno.test("step schedule: lr for epochs 1..30, then ÷1.5 every 10 epochs; cosine and constant", () => {
  const o = { learningRate: 5e-4, epochs: 300, schedule: "step" as const };
  assert.equal(learningRateAt(1, o), 5e-4);
  assert.equal(learningRateAt(30, o), 5e-4);
  assert.equal(learningRateAt(31, o), 5e-4 / 1.5);
  assert.equal(learningRateAt(40, o), 5e-4 / 1.5);
  assert.equal(learningRateAt(41, o), 5e-4 / 1.5 ** 2);
  assert.equal(learningRateAt(300, o), 5e-4 / 1.5 ** 27);
  assert.equal(learningRateAt(1, { ...o, schedule: "cosine" }), 5e-4);
  assert.ok(Math.abs(learningRateAt(151, { ...o, schedule: "cosine" }) - 2.5e-4) < 1e-12);
  assert.equal(learningRateAt(200, { ...o, schedule: "constant" }), 5e-4);
  assert.throws(() => learningRateAt(0, o), /epoch must be an integer >= 1; got 0/);
});

Deno.test("progress line: batches, samples/s and ETA", () => {
  assert.equal(
    progressLine("epoch 1", 3, 6, 300, 2),
    "epoch 1 [############............] 3/6 batches 150.0 samples/s ETA 0:02",
  );
  assert.match(progressLine("epoch 1", 0, 600, 0, 0), /0\/600 batches 0\.0 samples\/s ETA --:--$/);
  assert.match(progressLine("e", 1, 7201, 100, 1), /ETA 2:00:00$/);
});

Deno.test("clipping: each element to ±1, then the global norm to ≤ 5", async () => {
  await selectBackend("cpu");
  const a = tf.tensor1d([3, -0.5]), b = tf.tensor1d([0.25]);
  const [ca, cb] = clipGradients([a, b]);
  assert.deepEqual([...ca.dataSync(), ...cb.dataSync()], [1, -0.5, 0.25]); // norm ≈ 1.15 ≤ 5: unscaled
  const big = tf.fill([100], 2); // clipped to 1 each → norm 10 → scaled by 0.5
  const [cbig] = clipGradients([big]);
  for (const v of cbig.dataSync()) assert.ok(Math.abs(v - 0.5) < 1e-6);
  const [unclipped] = clipGradients([big], { clipValue: 0, clipNorm: 0 });
  assert.equal(unclipped.dataSync()[0], 2);
  tf.dispose([a, b, ca, cb, big, cbig, unclipped]);
});

for (const kind of ["cnn", "spn", "rnn-spn"] as ModelKind[]) {
  Deno.test(`overfit: ${kind} drives the loss on a fixed batch of 32 sequences below 0.1 within 150 steps`, async () => {
    await selectBackend("wasm");
    const { images, labels } = await firstBatch(small, 32);
    const model = tinyModel(kind);
    // Adam at 3e-3 (with the recipe's clipping) memorises fastest; RMSprop gets there too, more slowly.
    const optimizer = createOptimizer("adam", 3e-3);
    let first = NaN, last = NaN, steps = 0;
    for (steps = 1; steps <= 150; steps++) {
      const loss = trainStep(model, optimizer, images, labels);
      last = (await loss.data())[0];
      loss.dispose();
      if (steps === 1) first = last;
      if (last < 0.1) break;
    }
    assert.ok(first > 2, `initial loss ${first} should be near ln 10`);
    assert.ok(last < 0.1, `${kind}: loss ${last} after ${steps - 1} steps`);
    tf.dispose([images, labels]);
    optimizer.dispose();
    model.dispose();
  });
}

Deno.test("memory: tf.memory().numTensors is flat over 100 training steps", async () => {
  await selectBackend("wasm");
  const { images, labels } = await firstBatch(small, 4);
  const model = tinyModel("rnn-spn");
  const optimizer = createOptimizer("rmsprop", 5e-4);
  // The first step creates the optimizer's accumulators.
  trainStep(model, optimizer, images, labels).dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) trainStep(model, optimizer, images, labels).dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([images, labels]);
  optimizer.dispose();
  model.dispose();
});

Deno.test("train(): metrics per epoch, JSONL, best model, one line per epoch, no leaked tensors", async () => {
  await selectBackend("wasm");
  const out = await Deno.makeTempDir({ prefix: "rnnspn-train-" });
  const model = tinyModel("rnn-spn");
  const lines: string[] = [];
  const before = tf.memory().numTensors;
  const result = await train(model, small, {
    epochs: 2,
    batchSize: 16,
    trainEvalSize: 32,
    outDir: out,
    log: (l) => lines.push(l),
    progress: false,
  });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(result.stopped, "epochs");
  assert.equal(result.history.length, 2);
  assert.equal(lines.length, 2);
  assert.match(
    lines[1],
    /^epoch 2 lr 0\.000500 loss \d\.\d{4} \| train [\d.]+% seq [\d.]+% \| valid .* samples\/s/,
  );
  const jsonl = (await Deno.readTextFile(`${out}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.deepEqual(jsonl, result.history);
  for (const m of result.history) {
    assert.equal(m.learningRate, 5e-4);
    for (const split of [m.train, m.valid, m.test]) {
      assert.ok(split.digitError >= 0 && split.digitError <= 1);
      assert.ok(split.sequenceError >= split.digitError - 1e-12); // a wrong digit makes its sequence wrong
      assert.ok(split.loss > 0);
    }
    assert.ok(m.samplesPerSec > 0);
  }
  const best = result.history.reduce((a, b) => (b.valid.digitError < a.valid.digitError ? b : a));
  assert.equal(result.best.epoch, best.epoch);
  const saved = JSON.parse(await Deno.readTextFile(`${out}/best/model.json`));
  assert.equal(saved.format, "layers-model");
  model.dispose();
  await Deno.remove(out, { recursive: true });
});

Deno.test("train(): early stopping after `patience` epochs without a better validation error", async () => {
  await selectBackend("wasm");
  const model = tinyModel("cnn");
  // A vanishing learning rate: the validation error cannot improve after epoch 1.
  const result = await train(model, small, {
    epochs: 10,
    batchSize: 32,
    learningRate: 1e-30,
    patience: 2,
    trainEvalSize: 32,
    skipTest: true,
    log: null,
    progress: false,
  });
  assert.equal(result.stopped, "early-stopping");
  assert.equal(result.best.epoch, 1);
  assert.equal(result.epoch, 3);
  model.dispose();
});

Deno.test("train(): bad options are errors naming the option", async () => {
  const model = tinyModel("cnn");
  await assert.rejects(
    () => train(model, small, { epochs: 0 }),
    /train: epochs must be a positive integer; got 0/,
  );
  await assert.rejects(() => train(model, small, { batchSize: 2.5 }), /batchSize must be a positive integer/);
  await assert.rejects(() => train(model, small, { resume: true }), /resume needs outDir/);
  model.dispose();
});

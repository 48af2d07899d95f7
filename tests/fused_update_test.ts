/**
 * The fused clip + RMSprop update (src/train/fused_update.ts, wasm/src/rmsprop.rs) against tfjs's
 * unfused `clipGradients` + `RMSPropOptimizer.applyGradients` on the wasm backend: bitwise equal
 * weights, accumulators and iteration counts over several steps — clipping active and inactive,
 * zero and huge gradients, clipping off, momentum, learning-rate changes, state saved and restored
 * mid-run, data-parallel shards — no tensor leaks, and tfjs's path wherever the update is not
 * fused.
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { canFuseUpdate, fusedClipRmsprop, fusedUpdate } from "../src/train/fused_update.ts";
import { applyClipped, type ClipOptions } from "../src/train/step.ts";
import {
  createOptimizer,
  loadOptimizerState,
  saveOptimizerState,
  setLearningRate,
} from "../src/train/optimizer.ts";
import { prng } from "./_random.ts";

/** Odd sizes, a scalar-like [1], and sizes not a multiple of 4 (the kernels' SIMD tails). */
const SHAPES = [[1], [3], [7, 5], [3, 3, 1, 6], [33], [128, 9], [2, 3, 4, 5]];

type GradKind = "normal" | "small" | "zero" | "huge" | "nan";

/** Gradients of step `step`: "normal" clips both element-wise and by norm, "small" neither. */
function gradients(seed: number, kind: GradKind): Float32Array[] {
  const rand = prng(seed);
  return SHAPES.map((s) => {
    const n = s.reduce((a, b) => a * b, 1);
    return Float32Array.from({ length: n }, () => {
      const u = rand() * 2 - 1;
      if (kind === "zero") return 0;
      if (kind === "small") return u * 1e-3;
      if (kind === "huge") return u * 1e30;
      if (kind === "nan") return u > 0.9 ? NaN : u;
      return u * 3;
    });
  });
}

let nextId = 0;

/** Variables with the same initial values for every run (names unique per run). */
function variables(): tf.Variable[] {
  const rand = prng(7);
  const run = nextId++;
  return SHAPES.map((s, i) =>
    tf.variable(
      tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rand() - 0.5), s),
      true,
      `fused_test_${run}_${i}`,
    )
  );
}

interface Snapshot {
  weights: Float32Array[];
  state: Float32Array[];
  iterations: number;
}

async function snapshot(vars: tf.Variable[], optimizer: tf.Optimizer): Promise<Snapshot> {
  const state = await optimizer.getWeights();
  const out = {
    weights: await Promise.all(vars.map(async (v) => await v.data() as Float32Array)),
    state: await Promise.all(state.slice(1).map(async (w) => await w.tensor.data() as Float32Array)),
    iterations: (await state[0].tensor.data())[0],
  };
  state[0].tensor.dispose();
  return out;
}

function assertBitwise(a: Snapshot, b: Snapshot, what: string): void {
  assert.equal(a.iterations, b.iterations, `${what}: iterations`);
  assert.equal(a.state.length, b.state.length, `${what}: number of accumulators`);
  const pairs: [Float32Array, Float32Array, string][] = [
    ...a.weights.map((w, i): [Float32Array, Float32Array, string] => [w, b.weights[i], `weight ${i}`]),
    ...a.state.map((s, i): [Float32Array, Float32Array, string] => [s, b.state[i], `accumulator ${i}`]),
  ];
  for (const [x, y, name] of pairs) {
    // Bit patterns, so that −0 ≠ +0; any NaN equals any NaN (kernels may differ in NaN payloads).
    const bits = (a: Float32Array) =>
      Array.from(a, (v, i) => Number.isNaN(v) ? -1 : new Uint32Array(a.buffer, a.byteOffset)[i]);
    assert.deepEqual(bits(x), bits(y), `${what}: ${name}`);
  }
}

interface Plan {
  kinds: GradKind[];
  clip?: ClipOptions;
  momentum?: number;
  /** Learning rate from this step on: [step, rate]. */
  rateChange?: [number, number];
  /** Before this step every weight is halved (outside the optimizer's knowledge). */
  edit?: number;
}

async function run(plan: Plan, fused: boolean): Promise<Snapshot> {
  fusedUpdate.enabled = fused;
  try {
    const vars = variables();
    const optimizer = plan.momentum === undefined
      ? createOptimizer("rmsprop", 1e-3)
      : tf.train.rmsprop(1e-3, 0.9, plan.momentum, 1e-6);
    for (const [step, kind] of plan.kinds.entries()) {
      if (plan.rateChange && step === plan.rateChange[0]) setLearningRate(optimizer, plan.rateChange[1]);
      if (step === plan.edit) { for (const v of vars) tf.tidy(() => v.assign(tf.mul(v, 0.5))); }
      const grads = gradients(100 + step, kind).map((g, i) => tf.tensor(g, SHAPES[i]));
      assert.equal(canFuseUpdate(optimizer, vars, grads), fused);
      applyClipped(optimizer, vars, grads, plan.clip);
      tf.dispose(grads);
    }
    const out = await snapshot(vars, optimizer);
    optimizer.dispose();
    tf.dispose(vars);
    return out;
  } finally {
    fusedUpdate.enabled = true;
  }
}

const PLANS: Record<string, Plan> = {
  "clipping active": { kinds: ["normal", "normal", "normal", "normal"] },
  "clipping inactive": { kinds: ["small", "small", "small"] },
  "zero and huge gradients": { kinds: ["zero", "huge", "normal", "zero", "huge"] },
  "clipping off": { kinds: ["normal", "small", "normal"], clip: { clipValue: 0, clipNorm: Infinity } },
  "norm clip only": { kinds: ["normal", "normal"], clip: { clipValue: Infinity, clipNorm: 2 } },
  "momentum 0.5": { kinds: ["normal", "small", "normal"], momentum: 0.5 },
  "learning rate changed": { kinds: ["normal", "normal", "normal", "normal"], rateChange: [2, 3e-4] },
  "NaN gradients": { kinds: ["normal", "nan", "normal"] },
  "NaN gradients, clipping off": { kinds: ["normal", "nan"], clip: { clipValue: 0, clipNorm: 0 } },
  "NaN gradients, norm clip only": { kinds: ["normal", "nan"], clip: { clipValue: 0 } },
  "weights assigned between steps": { kinds: ["normal", "normal", "normal", "normal"], edit: 2 },
};

for (const [name, plan] of Object.entries(PLANS)) {
  Deno.test(`fused RMSprop equals tfjs's bitwise: ${name}`, async () => {
    await selectBackend("wasm");
    assertBitwise(await run(plan, true), await run(plan, false), name);
  });
}

Deno.test("fused RMSprop: state saved and restored mid-run continues as the uninterrupted run", async () => {
  await selectBackend("wasm");
  const kinds: GradKind[] = ["normal", "small", "normal", "normal"];
  const step = (vars: tf.Variable[], optimizer: tf.Optimizer, s: number) => {
    const grads = gradients(300 + s, kinds[s]).map((g, i) => tf.tensor(g, SHAPES[i]));
    applyClipped(optimizer, vars, grads);
    tf.dispose(grads);
  };
  const varsA = variables();
  const uninterrupted = createOptimizer("rmsprop", 1e-3);
  for (let s = 0; s < kinds.length; s++) step(varsA, uninterrupted, s);

  const varsB = variables();
  const first = createOptimizer("rmsprop", 1e-3);
  for (let s = 0; s < 2; s++) step(varsB, first, s);
  const saved = await saveOptimizerState(first);
  first.dispose();
  const resumed = createOptimizer("rmsprop", 1e-3);
  await loadOptimizerState(resumed, saved);
  for (let s = 2; s < kinds.length; s++) step(varsB, resumed, s);

  assertBitwise(await snapshot(varsA, uninterrupted), await snapshot(varsB, resumed), "resumed");
  uninterrupted.dispose();
  resumed.dispose();
  tf.dispose([...varsA, ...varsB]);
});

Deno.test("fused RMSprop: data-parallel shards summed in order and the weights written out", async () => {
  await selectBackend("wasm");
  const total = SHAPES.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  const concat = (parts: Float32Array[]) => {
    const out = new Float32Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const share = 4 / 7;
  const shares = [2 / 7, 1 / 7];
  const varsA = variables();
  const optA = createOptimizer("rmsprop", 1e-3);
  const varsB = variables();
  const optB = createOptimizer("rmsprop", 1e-3);
  const out = new Float32Array(total);
  for (let s = 0; s < 3; s++) {
    const mine = gradients(500 + s, "normal");
    const others = [gradients(600 + s, "normal"), gradients(700 + s, "small")];
    // tfjs: (mine · share + others[0] · shares[0]) + others[1] · shares[1], then the unfused update.
    const summed = tf.tidy(() =>
      mine.map((g, i) =>
        others.reduce(
          (acc, o, k) => tf.add(acc, tf.mul(tf.tensor(o[i], SHAPES[i]), shares[k])),
          tf.mul(tf.tensor(g, SHAPES[i]), share),
        )
      )
    );
    fusedUpdate.enabled = false;
    applyClipped(optA, varsA, summed);
    fusedUpdate.enabled = true;
    tf.dispose(summed);
    const grads = mine.map((g, i) => tf.tensor(g, SHAPES[i]));
    fusedClipRmsprop(optB, varsB, grads, { clipValue: 1, clipNorm: 5 }, {
      gradScale: share,
      shards: others.map((o, k) => ({ grads: concat(o), scale: shares[k] })),
      weightsOut: out,
    });
    tf.dispose(grads);
  }
  const a = await snapshot(varsA, optA);
  assertBitwise(a, await snapshot(varsB, optB), "data-parallel");
  assert.deepEqual(out, concat(a.weights));
  assert.throws(
    () =>
      fusedClipRmsprop(optB, varsB, varsB, { clipValue: 1, clipNorm: 5 }, {
        shards: [{ grads: new Float32Array(3), scale: 1 }],
      }),
    /a shard has 3 gradient values; the variables \d+/,
  );
  optA.dispose();
  optB.dispose();
  tf.dispose([...varsA, ...varsB]);
});

Deno.test("fused RMSprop: no tensor leaks once the accumulators exist", async () => {
  await selectBackend("wasm");
  const vars = variables();
  const optimizer = createOptimizer("rmsprop", 1e-3);
  const step = (s: number) => {
    const grads = gradients(900 + s, "normal").map((g, i) => tf.tensor(g, SHAPES[i]));
    applyClipped(optimizer, vars, grads);
    tf.dispose(grads);
  };
  step(0);
  const before = tf.memory().numTensors;
  for (let s = 1; s < 20; s++) step(s);
  assert.equal(tf.memory().numTensors, before);
  optimizer.dispose();
  tf.dispose(vars);
});

Deno.test("fused RMSprop: tfjs's path for Adam, centered RMSprop, subclasses, other backends", async () => {
  await selectBackend("wasm");
  const vars = variables();
  const grads = gradients(1, "normal").map((g, i) => tf.tensor(g, SHAPES[i]));
  assert.ok(canFuseUpdate(createOptimizer("rmsprop", 1e-3), vars, grads));
  assert.ok(!canFuseUpdate(createOptimizer("adam", 1e-3), vars, grads));
  assert.ok(!canFuseUpdate(tf.train.rmsprop(1e-3, 0.9, 0, 1e-6, true), vars, grads));
  class Custom extends tf.RMSPropOptimizer {}
  assert.ok(!canFuseUpdate(new Custom(1e-3), vars, grads));
  assert.ok(!canFuseUpdate(createOptimizer("rmsprop", 1e-3), vars, grads.slice(1)));
  assert.ok(!canFuseUpdate(createOptimizer("rmsprop", 1e-3), [vars[0], vars[0]], [grads[0], grads[0]]));
  const transposed = grads.map((g) => g.reshape([...g.shape].reverse()));
  assert.ok(!canFuseUpdate(createOptimizer("rmsprop", 1e-3), vars, transposed));
  const ints = grads.map((g) => g.toInt());
  assert.ok(!canFuseUpdate(createOptimizer("rmsprop", 1e-3), vars, ints));
  tf.dispose([...grads, ...ints, ...transposed, ...vars]);
  await selectBackend("cpu");
  const cpuVars = variables();
  const cpuGrads = gradients(1, "normal").map((g, i) => tf.tensor(g, SHAPES[i]));
  assert.ok(!canFuseUpdate(createOptimizer("rmsprop", 1e-3), cpuVars, cpuGrads));
  tf.dispose([...cpuGrads, ...cpuVars]);
  await selectBackend("wasm");
});

Deno.test("fused RMSprop: two optimizers over two sets of variables, stepped alternately", async () => {
  await selectBackend("wasm");
  const runs: Snapshot[][] = [];
  for (const fused of [true, false]) {
    fusedUpdate.enabled = fused;
    const rigs = [0, 1].map(() => ({ vars: variables(), optimizer: createOptimizer("rmsprop", 1e-3) }));
    for (let s = 0; s < 6; s++) {
      const { vars, optimizer } = rigs[s % 2];
      const grads = gradients(1100 + s, "normal").map((g, i) => tf.tensor(g, SHAPES[i]));
      applyClipped(optimizer, vars, grads);
      tf.dispose(grads);
    }
    fusedUpdate.enabled = true;
    runs.push(await Promise.all(rigs.map((r) => snapshot(r.vars, r.optimizer))));
    for (const r of rigs) {
      r.optimizer.dispose();
      tf.dispose(r.vars);
    }
  }
  assertBitwise(runs[0][0], runs[1][0], "first");
  assertBitwise(runs[0][1], runs[1][1], "second");
});

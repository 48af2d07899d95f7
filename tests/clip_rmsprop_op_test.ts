/**
 * The fused clip + RMSprop op (`src/ops/clip_rmsprop.ts`): its argument checks, its absence on
 * backends without the kernel, and the layering rule that training reaches kernels only through ops.
 * (Its results against tfjs's unfused update: tests/fused_update_test.ts.)
 */
import assert from "node:assert/strict";
import { tf } from "../src/tf.ts";
import { selectBackend } from "../mod.ts";
import { clipRmsprop, hasClipRmsprop } from "../src/ops/clip_rmsprop.ts";

const HYPER = { clipValue: 1, clipNorm: 5, decay: 0.9, momentum: 0, learningRate: 1e-3, epsilon: 1e-6 };

function slot(shape: number[], gradShape = shape) {
  return {
    grad: tf.ones(gradShape),
    weights: tf.ones(shape),
    meanSquares: tf.zeros(shape),
    moments: tf.zeros(shape),
  };
}

Deno.test("clipRmsprop: a kernel on wasm only; elsewhere an error naming the backend", async () => {
  await selectBackend("cpu");
  assert.equal(hasClipRmsprop(), false);
  const s = slot([3]);
  assert.throws(
    () => clipRmsprop([s], HYPER),
    /clipRmsprop: the cpu backend has no RnnspnClipRmsprop kernel/,
  );
  tf.dispose(Object.values(s));
  await selectBackend("wasm");
  assert.equal(hasClipRmsprop(), true);
});

Deno.test("clipRmsprop: bad slots, shards and weightsOut are errors naming them; nothing allocated", async () => {
  await selectBackend("wasm");
  const good = slot([2, 3]), bad = slot([2, 3], [3, 2]);
  const before = tf.memory().numTensors;
  assert.throws(() => clipRmsprop([], HYPER), /clipRmsprop: no variables/);
  assert.throws(
    () => clipRmsprop([good, bad], HYPER),
    /clipRmsprop: slot 1 must hold float32 tensors of one shape; got \[3,2\] float32, \[2,3\] float32/,
  );
  assert.throws(
    () => clipRmsprop([good], { ...HYPER, shards: [{ grads: new Float32Array(5), scale: 1 }] }),
    /a shard has 5 gradient values; the variables 6/,
  );
  assert.throws(
    () => clipRmsprop([good], { ...HYPER, weightsOut: new Float32Array(7) }),
    /weightsOut holds 7 values; the variables 6/,
  );
  assert.equal(tf.memory().numTensors, before);
  // A valid call: new tensors of the slots' shapes, the inputs untouched.
  const [[w, ms, mo]] = clipRmsprop([good], HYPER);
  assert.deepEqual([w.shape, ms.shape, mo.shape], [[2, 3], [2, 3], [2, 3]]);
  assert.deepEqual(Array.from(await good.weights.data()), [1, 1, 1, 1, 1, 1]);
  assert.ok((await w.data()).every((v) => v < 1), "a positive gradient lowers the weights");
  tf.dispose([w, ms, mo, ...Object.values(good), ...Object.values(bad)]);
});

Deno.test("layering: src/train reaches kernels only through ops (fused update included)", async () => {
  const dir = new URL("../src/train/", import.meta.url);
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(new URL(e.name, dir));
    const bad = [...text.matchAll(/from\s+"(\.\.\/kernels\/[^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(bad, [], `src/train/${e.name} imports ${bad.join(", ")}`);
  }
});

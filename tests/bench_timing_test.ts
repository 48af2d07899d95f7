import assert from "node:assert/strict";
import { median, timeAlternating } from "../bench/_timing.ts";

Deno.test("median: the middle value, or the mean of the middle two; an empty list is refused", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), /median: expected at least one value, got none/);
});

Deno.test("timeAlternating: one warm-up round, then reps rounds whose order flips every round", () => {
  const order: string[] = [];
  const times = timeAlternating({ a: () => void order.push("a"), b: () => void order.push("b") }, 3);
  // Round -1 (warm-up) and round 1 run b first; rounds 0 and 2 run a first.
  assert.deepEqual(order, ["b", "a", "a", "b", "b", "a", "a", "b"]);
  assert.equal(times.a.length, 3);
  assert.equal(times.b.length, 3);
  for (const t of [...times.a, ...times.b]) assert.ok(t >= 0 && Number.isFinite(t));
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => timeAlternating({ a: () => {} }, bad), /reps must be a positive integer, got/);
  }
});

import assert from "node:assert/strict";
import { hashWords, Xoshiro128 } from "../mod.ts";

Deno.test("xoshiro128** matches the reference implementation's output for state (1, 2, 3, 4)", () => {
  // First outputs of Blackman & Vigna's xoshiro128starstar.c from s = {1, 2, 3, 4}.
  const rng = Xoshiro128.fromState([1, 2, 3, 4]);
  const got = Array.from({ length: 10 }, () => rng.nextUint32());
  assert.deepEqual(got, [
    11520,
    0,
    5927040,
    70819200,
    2031721883,
    1637235492,
    1287239034,
    3734860849,
    3729100597,
    4258142804,
  ]);
});

Deno.test("state() / fromState() resume the stream exactly", () => {
  const a = new Xoshiro128(2024);
  for (let i = 0; i < 37; i++) a.nextUint32();
  const saved = JSON.parse(JSON.stringify(a.state()));
  const b = Xoshiro128.fromState(saved);
  for (let i = 0; i < 100; i++) assert.equal(b.nextUint32(), a.nextUint32());
  assert.throws(() => Xoshiro128.fromState([1, 2, 3]), /expected 4 words, got 3/);
  assert.throws(() => new Xoshiro128(2 ** 32), /seed must be an integer in \[0, 2\^32\), got 4294967296/);
});

Deno.test("int() is uniform over its inclusive range; permutation() is a permutation", () => {
  const rng = new Xoshiro128(5);
  const counts = new Array(28).fill(0);
  const draws = 280000;
  for (let i = 0; i < draws; i++) counts[rng.int(-14, 13) + 14]++;
  // Each bucket ~ Binomial(280000, 1/28): mean 10000, sd ≈ 98; allow 5 sd.
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 5 * 98, `bucket count ${c}`);
  const p = rng.permutation(1000);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.equal(rng.int(7, 7), 7);
  assert.throws(() => rng.int(3, 2), /lo <= hi/);
});

Deno.test("hashWords separates nearby keys", () => {
  const seen = new Set<number>();
  for (let s = 0; s < 4; s++) for (let i = 0; i < 5000; i++) seen.add(hashWords(s, 2, 0, i));
  assert.equal(seen.size, 20000);
  assert.notEqual(hashWords(1, 2), hashWords(2, 1));
});

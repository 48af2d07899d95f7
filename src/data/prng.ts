/**
 * The seeded pseudo-random number generator behind every random choice of the data pipeline.
 *
 * It is **xoshiro128\*\*** (Blackman and Vigna, 2018, "Scrambled linear pseudorandom number generators"): 128
 * bits of state in four 32-bit words, period 2^128 − 1. It was picked because it needs nothing but 32-bit
 * integer arithmetic (`Math.imul`, shifts, xor), which ECMAScript defines exactly, so the same seed gives the
 * same stream in Deno, Node and every browser — no floating point and no BigInt on the hot path.
 *
 * @module
 */

const TWO_32 = 4294967296;

/** MurmurHash3's 32-bit finaliser: a bijection on uint32 with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hashes a list of 32-bit words into one uint32 key (each word absorbed through MurmurHash3's finaliser).
 *
 * Used to give every (seed, purpose, split, index) its own independent stream, so one sample can be
 * regenerated without replaying the ones before it.
 *
 * @example
 * ```ts
 * import { hashWords, Xoshiro128 } from "@rnnspn/core";
 * const rng = new Xoshiro128(hashWords(42, 7, 1000)); // seed 42, purpose 7, item 1000
 * ```
 */
export function hashWords(...words: number[]): number {
  let h = 0x811c9dc5;
  for (const w of words) {
    if (!Number.isInteger(w)) throw new Error(`hashWords: expected integer words, got ${w}`);
    h = fmix32(((h ^ fmix32(w >>> 0)) + 0x9e3779b9) >>> 0);
  }
  return h;
}

/**
 * xoshiro128** with a documented seeding rule and an exportable state.
 *
 * Seeding: the uint32 seed is expanded into the four state words by SplitMix32 (`x += 0x9e3779b9`, then
 * MurmurHash3's finaliser of `x`), the 32-bit analogue of the SplitMix64 seeding its authors recommend.
 *
 * @example
 * ```ts
 * import { Xoshiro128 } from "@rnnspn/core";
 * const rng = new Xoshiro128(42);
 * const die = rng.int(1, 6);           // uniform in 1..6, inclusive
 * const saved = rng.state();           // e.g. into a checkpoint
 * const again = Xoshiro128.fromState(saved);
 * console.log(die, again.nextUint32() === rng.nextUint32()); // true
 * ```
 */
export class Xoshiro128 {
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;

  /** A generator seeded with an integer in [0, 2^32). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed >= TWO_32) {
      throw new Error(`Xoshiro128: seed must be an integer in [0, 2^32), got ${seed}`);
    }
    let x = seed;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      return fmix32(x);
    };
    this.#set([next(), next(), next(), next()]);
  }

  /** A generator continuing exactly from a state returned by {@linkcode Xoshiro128.state}. */
  static fromState(state: ArrayLike<number>): Xoshiro128 {
    if (state.length !== 4) throw new Error(`Xoshiro128.fromState: expected 4 words, got ${state.length}`);
    for (let i = 0; i < 4; i++) {
      const w = state[i];
      if (!Number.isInteger(w) || w < 0 || w >= TWO_32) {
        throw new Error(`Xoshiro128.fromState: word ${i} must be a uint32, got ${w}`);
      }
    }
    const rng = new Xoshiro128(0);
    rng.#set(state);
    return rng;
  }

  #set(state: ArrayLike<number>): void {
    this.#s0 = state[0] >>> 0;
    this.#s1 = state[1] >>> 0;
    this.#s2 = state[2] >>> 0;
    this.#s3 = state[3] >>> 0;
    // The all-zero state is the one fixed point of the recurrence.
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** The four state words (uint32), a copy: JSON-serialisable, restorable with `fromState`. */
  state(): [number, number, number, number] {
    return [this.#s0 >>> 0, this.#s1 >>> 0, this.#s2 >>> 0, this.#s3 >>> 0];
  }

  /** The next uniform uint32. */
  nextUint32(): number {
    const s1 = this.#s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return r;
  }

  /**
   * A uniform integer in [lo, hi], both inclusive, without modulo bias (rejection of the top partial
   * block of 2^32), so the result depends only on the stream, never on floating point.
   */
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo || hi - lo >= TWO_32) {
      throw new Error(`Xoshiro128.int: expected integers lo <= hi with hi - lo < 2^32, got [${lo}, ${hi}]`);
    }
    const n = hi - lo + 1;
    const limit = TWO_32 - (TWO_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return lo + (x % n);
  }

  /** A uniform float in [0, 1) with 32 random bits. */
  float(): number {
    return this.nextUint32() / TWO_32;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates, drawing `int(0, i)` for i = n-1 down to 1). */
  permutation(n: number): Uint32Array {
    if (!Number.isInteger(n) || n < 0) throw new Error(`Xoshiro128.permutation: n must be >= 0, got ${n}`);
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

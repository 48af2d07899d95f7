/**
 * The timing discipline every A/B benchmark here shares. Separate processes on this 2-core machine
 * differ by ±10 %, more than most of the effects measured (FMA's ceiling is 9 %), so rivals are timed
 * in one process, alternating, with the order flipped every round so that neither always runs on the
 * caches the other warmed; the first round only warms up (XNNPACK operator creation, arena growth).
 *
 * @module
 */

/**
 * Median of a non-empty list (the mean of the middle two for an even length).
 *
 * @example
 * ```ts
 * import { median } from "./_timing.ts";
 * median([3, 1, 2]); // 2
 * median([4, 1, 3, 2]); // 2.5
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median: expected at least one value, got none");
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times each of `runs` `reps` times, alternating between them, after one untimed warm-up round; returns
 * every run's wall times in ms. A run sets up its own switch (FMA on, Winograd off, …) and must finish
 * its work before returning: the wasm kernels are synchronous, so reading nothing back is enough there.
 *
 * @example
 * ```ts
 * import { median, timeAlternating } from "./_timing.ts";
 * const t = timeAlternating({ sort: () => void [3, 1, 2].sort(), copy: () => void [3, 1, 2].slice() }, 5);
 * console.log(median(t.sort), median(t.copy));
 * ```
 */
export function timeAlternating<K extends string>(
  runs: Record<K, () => void>,
  reps: number,
): Record<K, number[]> {
  if (!Number.isInteger(reps) || reps < 1) {
    throw new Error(`timeAlternating: reps must be a positive integer, got ${reps}`);
  }
  const keys = Object.keys(runs) as K[];
  const times = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = -1; r < reps; r++) {
    for (const k of r % 2 ? [...keys].reverse() : keys) {
      const t0 = performance.now();
      runs[k]();
      if (r >= 0) times[k].push(performance.now() - t0);
    }
  }
  return times;
}

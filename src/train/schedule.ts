/**
 * Learning-rate schedules, as pure functions of the (1-based) epoch, so that a resumed run
 * recomputes exactly the rate it would have had.
 *
 * @module
 */

/**
 * Which schedule. `"paper"`: constant, then ÷ `decayFactor` every `decayEvery` epochs after `decayStart`.
 *
 * @example
 * ```ts
 * import { learningRateAt, type ScheduleName } from "@rnnspn/core";
 * const schedules: ScheduleName[] = ["paper", "cosine", "constant"];
 * for (const schedule of schedules) {
 *   console.log(schedule, learningRateAt(150, { schedule, learningRate: 5e-4, epochs: 300 }));
 * }
 * ```
 */
export type ScheduleName = "paper" | "cosine" | "constant";

/**
 * Parameters of {@linkcode learningRateAt}.
 *
 * @example
 * ```ts
 * import { learningRateAt, type ScheduleOptions } from "@rnnspn/core";
 * // Halve the rate every 20 epochs after epoch 50.
 * const options: ScheduleOptions = {
 *   learningRate: 1e-3,
 *   epochs: 200,
 *   decayStart: 50,
 *   decayEvery: 20,
 *   decayFactor: 2,
 * };
 * console.log(learningRateAt(71, options)); // 1e-3 / 2² = 2.5e-4
 * ```
 */
export interface ScheduleOptions {
  /** The schedule (default `"paper"`). */
  schedule?: ScheduleName;
  /** Base learning rate. */
  learningRate: number;
  /** Total epochs (the cosine schedule's period). */
  epochs: number;
  /** `"paper"`: last epoch at the base rate (default 30). */
  decayStart?: number;
  /** `"paper"`: epochs between decays (default 10). */
  decayEvery?: number;
  /** `"paper"`: divisor per decay (default 1.5). */
  decayFactor?: number;
  /**
   * Linear warm-up (beyond the paper): epoch `e ≤ warmupEpochs` runs at `lr · e / (warmupEpochs + 1)`, and
   * the cosine schedule spans the epochs after the warm-up. Default 0.
   */
  warmupEpochs?: number;
}

/**
 * The learning rate of 1-based `epoch`. Paper: `lr` for epochs 1..30, `lr/1.5` for 31..40, `lr/1.5²` for
 * 41..50, …; cosine: `lr · (1 + cos(π·(epoch−1)/epochs)) / 2`; constant: `lr`. A warm-up, when asked for,
 * comes first (see {@linkcode ScheduleOptions.warmupEpochs}).
 *
 * @example
 * ```ts
 * import { learningRateAt } from "@rnnspn/core";
 * learningRateAt(31, { learningRate: 5e-4, epochs: 300 }); // 5e-4 / 1.5
 * ```
 */
export function learningRateAt(epoch: number, options: ScheduleOptions): number {
  const {
    schedule = "paper",
    learningRate: lr,
    epochs,
    decayStart = 30,
    decayEvery = 10,
    decayFactor = 1.5,
    warmupEpochs: w = 0,
  } = options;
  if (!Number.isInteger(epoch) || epoch < 1) {
    throw new Error(`learningRateAt: epoch must be an integer >= 1; got ${epoch}`);
  }
  if (!Number.isInteger(w) || w < 0) {
    throw new Error(`learningRateAt: warmupEpochs must be an integer >= 0; got ${w}`);
  }
  if (epoch <= w) return lr * epoch / (w + 1);
  switch (schedule) {
    case "constant":
      return lr;
    case "cosine":
      return lr * 0.5 * (1 + Math.cos(Math.PI * (epoch - w - 1) / Math.max(1, epochs - w)));
    case "paper":
      if (epoch <= decayStart) return lr;
      return lr / decayFactor ** (Math.floor((epoch - decayStart - 1) / decayEvery) + 1);
  }
  throw new Error(
    `learningRateAt: schedule must be "paper", "cosine" or "constant"; got ${JSON.stringify(schedule)}`,
  );
}

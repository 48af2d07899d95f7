/**
 * Learning-rate schedules, as pure functions of the (1-based) epoch, so that a resumed run
 * recomputes exactly the rate it would have had.
 *
 * @module
 */

/**
 * Which schedule. `"paper"`: the authors' loop (rnn_spn.py): after each epoch, when more than
 * `decayEvery` epochs have passed since the last decay and the (0-based) epoch is past `decayStart`,
 * the rate is divided by `decayFactor` and the count starts again — so with the defaults the rate
 * first drops for 1-based epoch 33, then every 12 epochs (45, 57, …). `"step"`: constant, then
 * ÷ `decayFactor` every `decayEvery` epochs after `decayStart` (31, 41, 51, …): what this library
 * called "paper" before it transcribed the loop. `"cosine"`, `"constant"`: as named.
 *
 * @example
 * ```ts
 * import { learningRateAt, type ScheduleName } from "@rnnspn/core";
 * const schedules: ScheduleName[] = ["paper", "step", "cosine", "constant"];
 * for (const schedule of schedules) {
 *   console.log(schedule, learningRateAt(150, { schedule, learningRate: 5e-4, epochs: 300 }));
 * }
 * ```
 */
export type ScheduleName = "paper" | "step" | "cosine" | "constant";

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
  /** `"paper"`: the authors' `nodecay` (default 30); `"step"`: last epoch at the base rate. */
  decayStart?: number;
  /** `"paper"`: the authors' `decayinterval` (default 10); `"step"`: epochs between decays. */
  decayEvery?: number;
  /** `"paper"`, `"step"`: divisor per decay (default 1.5). */
  decayFactor?: number;
  /**
   * Linear warm-up (beyond the paper): epoch `e ≤ warmupEpochs` runs at `lr · e / (warmupEpochs + 1)`, and
   * the cosine schedule spans the epochs after the warm-up. Default 0.
   */
  warmupEpochs?: number;
}

/**
 * The learning rate of 1-based `epoch`. Paper (the authors' loop): `lr` for epochs 1..32, `lr/1.5` for
 * 33..44, `lr/1.5²` for 45..56, …; step: `lr` for 1..30, `lr/1.5` for 31..40, …; cosine: `lr · (1 + cos(π·(epoch−1)/epochs)) / 2`; constant: `lr`. A warm-up, when asked for,
 * comes first (see {@linkcode ScheduleOptions.warmupEpochs}).
 *
 * @example
 * ```ts
 * import { learningRateAt } from "@rnnspn/core";
 * learningRateAt(33, { learningRate: 5e-4, epochs: 300 }); // 5e-4 / 1.5: the authors' first decay
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
      return lr / decayFactor ** authorsDecays(epoch - w, decayStart, decayEvery);
    case "step":
      if (epoch <= decayStart) return lr;
      return lr / decayFactor ** (Math.floor((epoch - decayStart - 1) / decayEvery) + 1);
  }
  throw new Error(
    `learningRateAt: schedule must be "paper", "step", "cosine" or "constant"; got ${
      JSON.stringify(schedule)
    }`,
  );
}

/**
 * How many decays the authors' loop (rnn_spn.py) has made before 1-based `epoch` trains. Their loop,
 * run after each 0-based epoch e: `if last_decay > decayinterval and e > nodecay: decay; last_decay = 0
 * else: last_decay += 1`. Counted by running that loop, so it is their rule whatever the arguments.
 */
function authorsDecays(epoch: number, nodecay: number, decayinterval: number): number {
  let decays = 0, lastDecay = 0;
  for (let e = 0; e < epoch - 1; e++) {
    if (lastDecay > decayinterval && e > nodecay) {
      lastDecay = 0;
      decays++;
    } else {
      lastDecay++;
    }
  }
  return decays;
}

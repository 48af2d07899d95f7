/**
 * The reproduction rows' `results/<row>/summary.json` files (written by `examples/reproduce.ts`), read
 * in one place for the scripts and tests that use them: the README's table, the pretrained export and
 * its test.
 *
 * @module
 */
import { readdir, readFile } from "node:fs/promises";

/** The fields of a row's `summary.json` that these readers use. */
export interface Summary {
  row: string;
  model: string;
  downsample: number | null;
  recipe: {
    name: string;
    epochs: number;
    learningRate: number;
    warmupEpochs: number;
    freshEpochs: boolean;
    seed?: number;
  };
  /** The RNN-SPN's GRU switches where the row set them (absent or null: tfjs's form). */
  gru?: { resetAfter: boolean; init: string } | null;
  /** The equal-budget comparison the row belongs to (absent or null: none). */
  study?: string | null;
  status: string;
  epochs: number;
  bestEpoch: number;
  validDigitError: number;
  testDigitError: number;
  testSequenceError: number;
  wallSeconds: number;
  samplesPerSecond: number;
  /** The host's CPU as the run saw it: hosts differ between sessions, so wall-clock needs it beside it. */
  cpu: string;
  paper: number | null;
  /** Per threshold ("0.05", …): the epoch and wall-clock seconds of the first test error below it. */
  firstReached: Record<string, { epoch: number; seconds: number } | null>;
}

/**
 * Every row directory of `results` that holds a `summary.json`, with that directory's path.
 *
 * @example
 * ```ts
 * import { readSummaries } from "./summaries.ts";
 * for (const { dir, summary } of await readSummaries("results")) console.log(dir, summary.testDigitError);
 * ```
 */
export async function readSummaries(results: string): Promise<{ dir: string; summary: Summary }[]> {
  const rows = [];
  for (const entry of await readdir(results, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = `${results}/${entry.name}`;
    const text = await readFile(`${dir}/summary.json`, "utf8").catch(() => undefined);
    if (text === undefined) continue;
    try {
      rows.push({ dir, summary: JSON.parse(text) as Summary });
    } catch (err) {
      throw new Error(
        `${dir}/summary.json is not valid JSON (truncated or corrupt? ${
          (err as Error).message.split(/[,\n]/)[0]
        })`,
      );
    }
  }
  return rows;
}

/**
 * The rows the pretrained model may come from, RNN-SPN at DS 3, lowest validation per-digit error first
 * (test error never picks it): the first is the one `scripts/export_pretrained.ts` exports.
 *
 * @example
 * ```ts
 * import { pretrainedCandidates, readSummaries } from "./summaries.ts";
 * const [best] = pretrainedCandidates((await readSummaries("results")).map((r) => r.summary));
 * console.log(best?.row);
 * ```
 */
export function pretrainedCandidates(summaries: readonly Summary[]): Summary[] {
  return summaries.filter((s) => s.model === "rnn-spn" && s.downsample === 3)
    .sort((a, b) => a.validDigitError - b.validDigitError);
}

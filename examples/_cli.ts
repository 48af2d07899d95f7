/**
 * Command-line helpers shared by the example scripts: parsing that turns every mistake into one
 * line naming the flag, what was expected and what was seen (exit code 2), before any work starts.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A command-line mistake: printed as one line, exit code 2. */
export class UsageError extends Error {}

/**
 * `parseArgs` (strict) over `argv`, where a string flag followed by a negative number takes it as
 * its value (`--epochs -1` is read as `--epochs=-1`, so that the range check can name it, instead
 * of parseArgs's "ambiguous" error). Unknown flags and missing values are {@linkcode UsageError}s.
 */
export function parseCli<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: T,
  allowPositionals = false,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([^=]+)$/.exec(argv[i])?.[1];
    const next = argv[i + 1];
    if (name && options[name]?.type === "string" && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
      joined.push(`--${name}=${next}`);
      i++;
    } else {
      joined.push(argv[i]);
    }
  }
  try {
    const { values, positionals } = parseArgs({ args: joined, options, allowPositionals, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
}

/** Bounds of a numeric flag (inclusive unless named `above` / `below`). */
export interface Range {
  /** Smallest allowed value. */
  min?: number;
  /** Largest allowed value. */
  max?: number;
  /** Allowed values are greater than this. */
  above?: number;
  /** Allowed values are less than this. */
  below?: number;
}

function describeRange(r: Range): string {
  const parts: string[] = [];
  if (r.min !== undefined) parts.push(`>= ${r.min}`);
  if (r.above !== undefined) parts.push(`> ${r.above}`);
  if (r.max !== undefined) parts.push(`<= ${r.max}`);
  if (r.below !== undefined) parts.push(`< ${r.below}`);
  return parts.join(" and ");
}

/** The number `text` of flag `--name`: an integer (`integer`) or finite number within `range`. */
export function numberFlag(name: string, text: string, range: Range, integer: boolean): number {
  const v = text.trim() === "" ? NaN : Number(text);
  const ok = Number.isFinite(v) && (!integer || Number.isInteger(v)) &&
    (range.min === undefined || v >= range.min) && (range.max === undefined || v <= range.max) &&
    (range.above === undefined || v > range.above) && (range.below === undefined || v < range.below);
  if (!ok) {
    const what = `${integer ? "an integer" : "a number"}${
      describeRange(range) ? ` ${describeRange(range)}` : ""
    }`;
    throw new UsageError(`--${name} must be ${what}; got ${JSON.stringify(text)}`);
  }
  return v;
}

/** An integer flag. */
export function intFlag(name: string, text: string, range: Range = {}): number {
  return numberFlag(name, text, range, true);
}

/** One of `choices`. */
export function choiceFlag<T extends string>(name: string, text: string, choices: readonly T[]): T {
  if (!choices.includes(text as T)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}; got ${JSON.stringify(text)}`);
  }
  return text as T;
}

/**
 * Runs `main` and returns what it returns; a {@linkcode UsageError} is printed as one line
 * `script: message` with exit code 2, any other error as `script: message` with exit code 1 (the
 * stack with `RNNSPN_DEBUG=1`).
 */
export async function runCli<T>(script: string, main: () => T | Promise<T>): Promise<T> {
  try {
    return await main();
  } catch (err) {
    const e = err as Error;
    console.error(`${script}: ${e?.message ?? String(err)}`);
    if (!(err instanceof UsageError) && Deno.env.get("RNNSPN_DEBUG")) console.error(e?.stack);
    Deno.exit(err instanceof UsageError ? 2 : 1);
  }
}

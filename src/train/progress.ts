/**
 * A one-line terminal progress bar (batches, samples/s, ETA), drawn only when stderr is a terminal.
 *
 * @module
 */

/** Whether stderr is an interactive terminal (Deno; false elsewhere). */
export function stderrIsTerminal(): boolean {
  const deno = (globalThis as { Deno?: { stderr?: { isTerminal?: () => boolean } } }).Deno;
  try {
    return deno?.stderr?.isTerminal?.() ?? false;
  } catch {
    return false;
  }
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return (h > 0 ? `${h}:${String(m).padStart(2, "0")}` : String(m)) + `:${String(r).padStart(2, "0")}`;
}

/** The bar's text for `done` of `total` batches after `seconds`, at `samples` sequences. */
export function progressLine(
  label: string,
  done: number,
  total: number,
  samples: number,
  seconds: number,
): string {
  const width = 24;
  const filled = total > 0 ? Math.round((width * done) / total) : 0;
  const rate = seconds > 0 ? samples / seconds : 0;
  const eta = done > 0 ? (seconds / done) * (total - done) : Infinity;
  return `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} batches ` +
    `${rate.toFixed(1)} samples/s ETA ${clock(eta)}`;
}

/** A progress bar that redraws at most every `intervalMs`; a no-op when `enabled` is false. */
export class ProgressBar {
  #last = 0;
  readonly #enabled: boolean;
  readonly #encoder = new TextEncoder();
  constructor(enabled: boolean, readonly intervalMs = 250) {
    this.#enabled = enabled;
  }
  /** Redraws the bar (throttled). */
  update(label: string, done: number, total: number, samples: number, seconds: number): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (now - this.#last < this.intervalMs && done < total) return;
    this.#last = now;
    this.#write(`\r\x1b[2K${progressLine(label, done, total, samples, seconds)}`);
  }
  /** Clears the bar's line. */
  clear(): void {
    if (this.#enabled) this.#write("\r\x1b[2K");
  }
  #write(text: string): void {
    const deno = (globalThis as { Deno?: { stderr: { writeSync(b: Uint8Array): number } } }).Deno;
    deno?.stderr.writeSync(this.#encoder.encode(text));
  }
}
